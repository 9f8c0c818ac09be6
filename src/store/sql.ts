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

/**
 * Flattens nested fragments into text plus positional parameters. The text is joined once:
 * built with `+=`, a 6,000-parameter statement was a JSC rope of ~24,000 pieces, and the driver's
 * buffers kept such ropes alive — 2 MB retained per 1,000-metric log-batch, 900 MB in 6 s.
 */
export function render(fragment: Fragment, placeholder: (index: number) => string): Rendered {
  const params: unknown[] = [];
  const text: string[] = [];
  const walk = (f: Fragment) => {
    f.strings.forEach((s, i) => {
      text.push(s);
      if (i >= f.values.length) return;
      const v = f.values[i];
      if (v instanceof Fragment) walk(v);
      else {
        params.push(v);
        text.push(placeholder(params.length));
      }
    });
  };
  walk(fragment);
  return { text: text.join(""), params };
}
