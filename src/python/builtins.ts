// The bits of Python whose behaviour shows in MLflow's answers: int() of a string, repr() and
// json.dumps() of values quoted in error messages, type names, base64/json decoding of page
// tokens, shlex.split of order_by clauses. Shared by the search grammar and the services.

/** A Python value as MLflow sees it: int is bigint, float is number, tuple/dict are tagged. */
export type PyValue = null | boolean | bigint | number | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyOpaque;
/** A value only ever printed (complex, set): carries its repr. */
export class PyOpaque {
  constructor(readonly repr: string) {}
}
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  constructor(readonly entries: [PyValue, PyValue][]) {}
  get(key: string): PyValue | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
}

/** A Python exception escaping MLflow's own handling: the server answers INTERNAL_ERROR with str(e). */
export class PyError extends Error {
  constructor(
    readonly type: "ValueError" | "SyntaxError" | "TypeError" | "OverflowError" | "AttributeError",
    message: string,
  ) {
    super(message);
  }
}

const SPACE = "\t\n\v\f\r \x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

/** str.strip() with no arguments (Unicode whitespace as str.isspace sees it). */
export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && SPACE.includes(s[a]!)) a++;
  while (b > a && SPACE.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** len() of a str: code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** int(s) for a str: whitespace, a sign, decimal digits (any script) with single underscores. */
export function pyInt(s: string): bigint | undefined {
  const m = /^([+-]?)(\p{Nd}+(?:_\p{Nd}+)*)$/u.exec(pyStrip(s));
  if (!m) return undefined;
  let n = 0n;
  for (const ch of m[2]!.replace(/_/g, "")) n = n * 10n + BigInt(digitValue(ch));
  return m[1] === "-" ? -n : n;
}

function digitValue(ch: string): number {
  let cp = ch.codePointAt(0)!;
  if (cp <= 0x39) return cp - 0x30;
  // Unicode decimal digits come in runs of ten starting at zero; find the run's start.
  let start = cp;
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** repr() of a str. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + hex(cp, 2);
    else if (cp < 0x7f || (ch !== " " && !NOT_PRINTABLE.test(ch))) out += ch;
    else out += cp <= 0xff ? "\\x" + hex(cp, 2) : cp <= 0xffff ? "\\u" + hex(cp, 4) : "\\U" + hex(cp, 8);
  }
  return out + quote;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** repr() of a float: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = x.toExponential().split("e");
  const exp = Number(expText);
  const sign = mantissa!.startsWith("-") ? "-" : "";
  const digits = mantissa!.replace(/^-/, "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return `${sign}${int}.${frac || "0"}`;
}

/** repr() of a value. */
export function pyRepr(v: PyValue): string {
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return pyFloatRepr(v);
  if (typeof v === "string") return pyStrRepr(v);
  if (v instanceof Uint8Array) return pyBytesRepr(v);
  if (v instanceof PyTuple) return v.items.length === 1 ? `(${pyRepr(v.items[0]!)},)` : `(${v.items.map(pyRepr).join(", ")})`;
  if (v instanceof PyOpaque) return v.repr;
  if (v instanceof PyDict) return `{${v.entries.map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  return `[${v.map(pyRepr).join(", ")}]`;
}

/** str() of a value: a str is itself, everything else its repr. */
export function pyStr(v: PyValue): string {
  return typeof v === "string" ? v : pyRepr(v);
}

/** type(v).__name__ */
export function pyType(v: PyValue): string {
  if (v === null) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "bigint") return "int";
  if (typeof v === "number") return "float";
  if (typeof v === "string") return "str";
  if (v instanceof Uint8Array) return "bytes";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyDict) return "dict";
  if (v instanceof PyOpaque) return v.repr.includes("j") ? "complex" : "set";
  return "list";
}

export function pyBytesRepr(b: Uint8Array): string {
  const has = (c: number) => b.includes(c);
  const quote = has(0x27) && !has(0x22) ? 0x22 : 0x27;
  let out = "b" + String.fromCharCode(quote);
  for (const c of b) {
    if (c === quote || c === 0x5c) out += "\\" + String.fromCharCode(c);
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || c >= 0x7f) out += "\\x" + hex(c, 2);
    else out += String.fromCharCode(c);
  }
  return out + String.fromCharCode(quote);
}

/** int(v) for what json.loads produced; PyError where Python raises. */
export function pyIntOf(v: PyValue): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "number") {
    if (Number.isNaN(v)) throw new PyError("ValueError", "cannot convert float NaN to integer");
    if (!Number.isFinite(v)) throw new PyError("OverflowError", "cannot convert float infinity to integer");
    return BigInt(Math.trunc(v));
  }
  if (typeof v === "string") {
    const n = pyInt(v);
    if (n === undefined) throw new PyError("ValueError", `invalid literal for int() with base 10: ${pyStrRepr(v)}`);
    return n;
  }
  throw new PyError("TypeError", `int() argument must be a string, a bytes-like object or a real number, not '${pyType(v)}'`);
}

// ---- base64.b64decode (non-strict binascii.a2b_base64) ---------------------------------------

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Throws PyError("ValueError") for non-ASCII input; returns undefined for binascii.Error. */
export function b64decode(s: string): Uint8Array | undefined {
  if (/[^\x00-\x7f]/.test(s)) throw new PyError("ValueError", "string argument should contain only ASCII characters");
  const out: number[] = [];
  let quad = 0;
  let left = 0;
  let pads = 0;
  for (const ch of s) {
    if (ch === "=") {
      if (quad >= 2 && quad + ++pads >= 4) return new Uint8Array(out);
      continue;
    }
    const v = B64.indexOf(ch);
    if (v < 0) continue; // non-alphabet characters are skipped
    pads = 0;
    if (quad === 0) left = v;
    else if (quad === 1) out.push(((left << 2) | (v >> 4)) & 0xff), (left = v & 0x0f);
    else if (quad === 2) out.push(((left << 4) | (v >> 2)) & 0xff), (left = v & 0x03);
    else out.push(((left << 6) | v) & 0xff);
    quad = (quad + 1) % 4;
  }
  return quad === 0 ? new Uint8Array(out) : undefined;
}

// ---- json.loads -------------------------------------------------------------------------------

/** json.loads of UTF-8 bytes, into Python values (ordered dicts, int vs float). */
export function jsonLoads(bytes: Uint8Array): PyValue | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return undefined;
  }
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new SyntaxError("json");
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [PyValue, PyValue][] = [];
      ws();
      if (text[i] === "}") return i++, new PyDict(entries);
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const k = str();
        ws();
        if (text[i++] !== ":") fail();
        const v = value();
        const at = entries.findIndex(([x]) => x === k);
        if (at >= 0) entries[at] = [k, v];
        else entries.push([k, v]);
        ws();
        if (text[i] === ",") i++;
        else if (text[i++] === "}") return new PyDict(entries);
        else fail();
      }
    }
    if (c === "[") {
      i++;
      const items: PyValue[] = [];
      ws();
      if (text[i] === "]") return i++, items;
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ",") i++;
        else if (text[i++] === "]") return items;
        else fail();
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [["null", null], ["true", true], ["false", false], ["NaN", NaN], ["Infinity", Infinity], ["-Infinity", -Infinity]] as const) {
      if (text.startsWith(word, i)) return (i += word.length), v;
    }
    const m = /-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
    m.lastIndex = i;
    const n = m.exec(text);
    if (!n) fail();
    i += n![0].length;
    return n![2] || n![3] ? Number(n![0]) : BigInt(n![0]);
  };
  const str = (): string => {
    const m = /"((?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*)"/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) fail();
    i += r![0].length;
    return JSON.parse(r![0]);
  };
  try {
    const v = value();
    ws();
    return i === text.length ? v : undefined;
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

// ---- shlex.split (posix, whitespace_split, no comments) ---------------------------------------

export function shlexSplit(s: string): string[] {
  const out: string[] = [];
  const WS = " \t\r\n";
  let i = 0;
  while (true) {
    let token = "";
    let quoted = false;
    let state: string = " ";
    let escaped = " ";
    for (;;) {
      const c = i < s.length ? s[i++]! : "";
      if (state === " ") {
        if (c === "") return out;
        if (WS.includes(c)) continue;
        if (c === "\\") (escaped = "a"), (state = c);
        else if (c === "'" || c === '"') state = c;
        else (token = c), (state = "a");
      } else if (state === "'" || state === '"') {
        quoted = true;
        if (c === "") throw new PyError("ValueError", "No closing quotation");
        if (c === state) state = "a";
        else if (c === "\\" && state === '"') (escaped = state), (state = c);
        else token += c;
      } else if (state === "\\") {
        if (c === "") throw new PyError("ValueError", "No escaped character");
        if ((escaped === "'" || escaped === '"') && c !== state && c !== escaped) token += state;
        token += c;
        state = escaped;
      } else {
        if (c === "") break;
        if (WS.includes(c)) {
          if (token || quoted) break;
          state = " ";
          continue;
        }
        if (c === "'" || c === '"') state = c;
        else if (c === "\\") (escaped = "a"), (state = c);
        else token += c;
      }
    }
    out.push(token);
    if (i >= s.length) return out;
  }
}
/** json.dumps(value, sort_keys=True, separators=(",", ":")) with ensure_ascii. */
export function pyJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as any)[k])]));
    return v;
  };
  if (value === undefined) return "null";
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return JSON.stringify(sorted(value)).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** type(value).__name__ of the value json.loads would have produced. */
export function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return "NoneType";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (Array.isArray(value)) return "list";
  return "dict";
}

/** json.dumps(value) with its defaults: ", " and ": " separators, ensure_ascii, NaN/Infinity allowed. */
export function pyJsonDumps(v: PyValue): string {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : !Number.isFinite(v) ? (v > 0 ? "Infinity" : "-Infinity") : pyFloatRepr(v);
  if (typeof v === "string") {
    // ESCAPE_ASCII: everything outside ' '..'~' is escaped, astral characters as surrogate pairs
    const escaped = v.replace(/[^ -~]|["\\]/g, (c) => {
      const short: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };
      return short[c] ?? "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
    });
    return `"${escaped}"`;
  }
  if (v instanceof PyDict) return `{${v.entries.map(([k, x]) => `${pyJsonDumps(typeof k === "string" ? k : pyStr(k))}: ${pyJsonDumps(x)}`).join(", ")}}`;
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(", ")}]`;
  if (v instanceof PyTuple) return pyJsonDumps(v.items);
  throw new PyError("TypeError", `Object of type ${pyType(v)} is not JSON serializable`);
}
