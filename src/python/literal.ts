// ast.literal_eval for the lists in `IN (...)` filter clauses. MLflow hands the raw text of
// the parenthesis to Python; a syntax error becomes its "ill-formed list" message, while valid
// Python that is not a literal (a name, a call) escapes as a ValueError (an INTERNAL_ERROR).
// This covers Python's expression syntax far enough to tell those apart.
import { PyDict, PyError, PyOpaque, PyTuple, pyRepr, type PyValue } from "./builtins";

type Node = { value: PyValue } | { bad: string };

const TOKEN =
  /([ \t\f]+|\\\r?\n)|((?:[rR][bB]?|[bB][rR]?|[uU]|[fF][rR]?|[rR][fF])?(?:'''[\s\S]*?'''|"""[\s\S]*?"""|(?!''')'(?:[^'\\\n]|\\[\s\S])*'|(?!""")"(?:[^"\\\n]|\\[\s\S])*"))|((?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*\.?(?:\d(?:_?\d)*)?|\.\d(?:_?\d)*)(?:[eE][-+]?\d(?:_?\d)*)?)[jJ]?)|([\p{L}_][\p{L}\p{N}_]*)|(\*\*|\/\/|<<|>>|<=|>=|==|!=|->|\.\.\.|[-+*\/%@&|^~<>()[\]{},:.;=])/uy;

interface Tok {
  kind: "str" | "num" | "name" | "op" | "end";
  text: string;
}

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let depth = 0;
  while (i < src.length) {
    if (src[i] === "\n" || src[i] === "\r") {
      if (depth === 0 && src.slice(i).trim() !== "") throw syntax();
      i++;
      continue;
    }
    if (src[i] === "#") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(src);
    if (!m) throw syntax();
    i += m[0].length;
    if (m[1]) continue;
    const kind = m[2] ? "str" : m[3] ? "num" : m[4] ? "name" : "op";
    if (m[5] && "([{".includes(m[5])) depth++;
    if (m[5] && ")]}".includes(m[5])) depth--;
    toks.push({ kind, text: m[0] });
  }
  toks.push({ kind: "end", text: "" });
  return toks;
}

const syntax = () => new PyError("SyntaxError", "invalid syntax");

/** ast.literal_eval(src). Throws PyError: SyntaxError or ValueError, as Python raises them. */
export function literalEval(src: string): PyValue {
  if (src.includes("\0")) throw new PyError("SyntaxError", "source code string cannot contain null bytes");
  const toks = lex(src.replace(/^[ \t]+/, ""));
  let p = 0;
  const peek = () => toks[p]!;
  const eat = (text: string) => (peek().kind === "op" && peek().text === text ? (p++, true) : false);
  const expect = (text: string) => {
    if (!eat(text)) throw syntax();
  };
  const bad = (what: string): Node => ({ bad: what });

  // expression := unary (binop unary)* ; comparisons and boolean operators included
  const BINOPS = ["+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^", "<", ">", "<=", ">=", "==", "!="];
  const expr = (): Node => {
    let left = unary();
    for (;;) {
      const t = peek();
      if (t.kind === "op" && BINOPS.includes(t.text)) {
        p++;
        const right = unary();
        left = binop(left, t.text, right);
      } else if (t.kind === "name" && ["and", "or", "in", "is", "not", "if"].includes(t.text)) {
        p++;
        if (t.text === "not") expectName("in");
        if (t.text === "is") eatName("not");
        unary();
        if (t.text === "if") expectName("else"), unary();
        left = bad(t.text === "and" || t.text === "or" ? "BoolOp" : t.text === "if" ? "IfExp" : "Compare");
      } else return left;
    }
  };
  const eatName = (n: string) => (peek().kind === "name" && peek().text === n ? (p++, true) : false);
  const expectName = (n: string) => {
    if (!eatName(n)) throw syntax();
  };
  const binop = (l: Node, op: string, r: Node): Node => {
    // literal_eval allows number +/- complex (e.g. 1+2j); everything else is a BinOp.
    if ((op === "+" || op === "-") && "value" in l && "value" in r && r.value instanceof PyOpaque && /j$/i.test(r.value.repr)) {
      return { value: new PyOpaque(`(${reprOf(l.value)}${op}${r.value.repr})`) };
    }
    return bad(["<", ">", "<=", ">=", "==", "!="].includes(op) ? "Compare" : "BinOp");
  };
  const unary = (): Node => {
    if (eat("-") || eat("+") || eat("~")) {
      const op = toks[p - 1]!.text;
      const operand = unary();
      if (op !== "~" && "value" in operand && (typeof operand.value === "bigint" || typeof operand.value === "number")) {
        return { value: op === "-" ? -(operand.value as any) : operand.value };
      }
      if (op !== "~" && "value" in operand && operand.value instanceof PyOpaque) return { value: new PyOpaque(`${op}${operand.value.repr}`) };
      return bad("UnaryOp");
    }
    if (eatName("not")) return unary(), bad("UnaryOp");
    return postfix();
  };
  const postfix = (): Node => {
    let node = atom();
    for (;;) {
      if (eat(".")) {
        if (peek().kind !== "name") throw syntax();
        p++;
        node = bad("Attribute");
      } else if (eat("(")) {
        list(")");
        node = bad("Call");
      } else if (eat("[")) {
        list("]");
        node = bad("Subscript");
      } else return node;
    }
  };
  /** Comma-separated expressions up to `close`; returns the items and whether a comma was seen. */
  const list = (close: string): [Node[], boolean] => {
    const items: Node[] = [];
    let comma = false;
    while (!eat(close)) {
      if (eat("*")) unary();
      else items.push(expr());
      if (eat(",")) comma = true;
      else if (!eat(close)) throw syntax();
      else break;
    }
    return [items, comma];
  };
  const atom = (): Node => {
    const t = peek();
    p++;
    if (t.kind === "str") {
      let s = stringValue(t.text);
      while (peek().kind === "str") {
        const next = stringValue(peek().text);
        p++;
        if (typeof s === "string" && typeof next === "string") s += next;
        else if (s instanceof Uint8Array && next instanceof Uint8Array) s = new Uint8Array([...s, ...next]);
        else if (s === undefined || next === undefined) s = undefined;
        else throw syntax(); // cannot mix bytes and nonbytes literals
      }
      return s === undefined ? bad("JoinedStr") : { value: s };
    }
    if (t.kind === "num") return { value: numberValue(t.text) };
    if (t.kind === "name") {
      if (t.text === "True") return { value: true };
      if (t.text === "False") return { value: false };
      if (t.text === "None") return { value: null };
      if (["and", "or", "not", "in", "is", "if", "else", "lambda", "for"].includes(t.text)) throw syntax();
      return bad("Name");
    }
    if (t.kind === "op" && t.text === "...") return { value: new PyOpaque("Ellipsis") };
    if (t.kind === "op" && t.text === "(") {
      if (eat(")")) return { value: new PyTuple([]) };
      const [items, comma] = list(")");
      if (!comma && items.length === 1) return items[0]!;
      return collect(items, (v) => new PyTuple(v));
    }
    if (t.kind === "op" && t.text === "[") return collect(list("]")[0], (v) => v);
    if (t.kind === "op" && t.text === "{") return dictOrSet();
    throw syntax();
  };
  const dictOrSet = (): Node => {
    if (eat("}")) return { value: new PyDict([]) };
    const entries: [Node, Node][] = [];
    const items: Node[] = [];
    for (;;) {
      const k = expr();
      if (eat(":")) entries.push([k, expr()]);
      else items.push(k);
      if (eat(",")) {
        if (eat("}")) break;
        continue;
      }
      expect("}");
      break;
    }
    if (entries.length && items.length) throw syntax();
    if (items.length) return collect(items, (v) => new PyOpaque(`{${v.map(reprOf).join(", ")}}`));
    const bads = entries.flat().find((n) => "bad" in n);
    if (bads) return bads;
    return { value: new PyDict(entries.map(([k, v]) => [(k as any).value, (v as any).value])) };
  };
  const collect = (items: Node[], make: (v: PyValue[]) => PyValue): Node => {
    const badItem = items.find((n) => "bad" in n);
    return badItem ?? { value: make(items.map((n) => (n as any).value)) };
  };

  const node = expr();
  if (peek().kind !== "end") throw syntax();
  if ("bad" in node) throw new PyError("ValueError", `malformed node or string on line 1: <ast.${node.bad} object at 0x7f0000000000>`);
  return node.value;
}

const reprOf = (v: PyValue): string => pyRepr(v);

function numberValue(text: string): PyValue {
  const t = text.replace(/_/g, "");
  if (/[jJ]$/.test(t)) return new PyOpaque(`${t.slice(0, -1)}j`);
  if (/^0[xX]/.test(t)) return BigInt(t);
  if (/^0[oO]/.test(t)) return BigInt(t);
  if (/^0[bB]/.test(t)) return BigInt(t);
  if (/[.eE]/.test(t)) return Number(t);
  if (/^0+\d/.test(t) && /[1-9]/.test(t)) throw syntax(); // leading zeros in decimal integer literals
  return BigInt(t);
}

/** A string literal's value; undefined for f-strings (a JoinedStr node). */
function stringValue(text: string): string | Uint8Array | undefined {
  const prefix = /^[a-zA-Z]*/.exec(text)![0].toLowerCase();
  const q = text.slice(prefix.length);
  const quote = q.startsWith("'''") || q.startsWith('"""') ? 3 : 1;
  const body = q.slice(quote, -quote);
  if (prefix.includes("f")) return undefined;
  const raw = prefix.includes("r");
  const s = raw ? body : unescape(body, prefix.includes("b"));
  if (!prefix.includes("b")) return s;
  if (/[^\x00-\x7f]/.test(body)) throw syntax(); // bytes can only contain ASCII literal characters
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function unescape(body: string, bytes: boolean): string {
  return body.replace(/\\(\r?\n|[\\'"abfnrtv]|[0-7]{1,3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[\s\S])/g, (all, e: string) => {
    if (e === "\n" || e === "\r\n") return "";
    const simple: Record<string, string> = { "\\": "\\", "'": "'", '"': '"', a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };
    if (e in simple) return simple[e]!;
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & (bytes ? 0xff : 0x1ff));
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    if (!bytes && (e[0] === "u" || e[0] === "U")) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (!bytes && e[0] === "N") throw syntax(); // named escapes: not supported here
    return all; // unknown escapes stay as written
  });
}
