// Python 3.11's fnmatch.fnmatch on POSIX (case-sensitive, no normcase): MLflow's security
// middleware matches Host headers and CORS origins against --allowed-hosts and
// --cors-allowed-origins patterns with it.

const cache = new Map<string, RegExp>();

export function fnmatch(name: string, pattern: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${translate(pattern)})$`, "s");
    cache.set(pattern, re);
  }
  return re.test(name);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** fnmatch.translate: `*`, `?` and `[...]` (with `!` negation and ranges); all else literal. */
function translate(pat: string): string {
  let out = "";
  let i = 0;
  const n = pat.length;
  while (i < n) {
    const c = pat[i++]!;
    if (c === "*") {
      if (!out.endsWith(".*")) out += ".*"; // runs of * are one
    } else if (c === "?") out += ".";
    else if (c === "[") {
      let j = i;
      if (j < n && pat[j] === "!") j++;
      if (j < n && pat[j] === "]") j++;
      while (j < n && pat[j] !== "]") j++;
      if (j >= n) out += "\\[";
      else {
        out += charClass(pat.slice(i, j));
        i = j + 1;
      }
    } else out += escape(c);
  }
  return out;
}

/** One bracket expression's body (between `[` and `]`) as a JavaScript class, Python's way. */
function charClass(body: string): string {
  const negate = body.startsWith("!");
  const inner = negate ? body.slice(1) : body;
  // Python splits on '-' to find ranges and drops reversed ones ([z-a] matches nothing).
  const parts: string[] = [];
  let k = 0;
  const chars = [...inner];
  while (k < chars.length) {
    if (k + 2 < chars.length && chars[k + 1] === "-") {
      const [lo, hi] = [chars[k]!, chars[k + 2]!];
      if (lo <= hi) parts.push(`${escapeInClass(lo)}-${escapeInClass(hi)}`);
      k += 3;
    } else {
      parts.push(escapeInClass(chars[k]!));
      k++;
    }
  }
  if (!parts.length) return negate ? "." : "(?!)";
  return `[${negate ? "^" : ""}${parts.join("")}]`;
}

const escapeInClass = (ch: string) => (/[\\\]^\-[]/.test(ch) ? `\\${ch}` : ch);
