// SQL as tagged templates. `sql` builds a Fragment; fragments nest, so a query can be put
// together from parts (a WHERE clause, an IN list) while every value stays a bound parameter.
// Drivers render a fragment to text with their placeholder style ($1 or ?).

export class Fragment {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

export function sql(strings: TemplateStringsArray | readonly string[], ...values: unknown[]): Fragment {
  return new Fragment(strings, values);
}

/** Trusted SQL text (identifiers, keywords chosen by our code), never user input. */
export function raw(text: string): Fragment {
  return new Fragment([text], []);
}

/** `a, b, c` of bound values, for `IN (...)` and multi-row VALUES. */
export function list(values: readonly unknown[]): Fragment {
  if (values.length === 0) throw new Error("list() of nothing: guard empty inputs before building SQL");
  return new Fragment(["", ...values.slice(1).map(() => ", "), ""], values);
}

/** Fragments joined by a separator, e.g. conditions by " AND ". */
export function join(parts: readonly Fragment[], separator: string): Fragment {
  if (parts.length === 0) return raw("");
  const strings = ["", ...parts.slice(1).map(() => separator), ""];
  return new Fragment(strings, parts);
}

export interface Rendered {
  text: string;
  params: unknown[];
}

/** Flattens nested fragments into text plus positional parameters. */
export function render(fragment: Fragment, placeholder: (index: number) => string): Rendered {
  const params: unknown[] = [];
  let text = "";
  const walk = (f: Fragment) => {
    f.strings.forEach((s, i) => {
      text += s;
      if (i >= f.values.length) return;
      const v = f.values[i];
      if (v instanceof Fragment) walk(v);
      else {
        params.push(v);
        text += placeholder(params.length);
      }
    });
  };
  walk(fragment);
  return { text, params };
}
