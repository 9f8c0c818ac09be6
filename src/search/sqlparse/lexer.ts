// sqlparse 0.6.1's lexer (lexer.py, keywords.py SQL_REGEX) and statement splitter
// (engine/statement_splitter.py). The regexes are Python's, translated: Python's Unicode
// \w, \d, \s and \b are spelled out because JavaScript's are ASCII-only.
import { KEYWORDS } from "./keywords";
import { T, Token, type TType, under } from "./tokens";

const W = String.raw`[\p{L}\p{N}_]`; // Python's Unicode \w
const D = String.raw`\p{Nd}`; // Python's Unicode \d
const S = String.raw`[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]`; // str.isspace
const B = `(?!${W})`; // \b after a word character
const A = "[A-ZÀ-Ü]";

/** Python source spelling → JavaScript (sticky, case-insensitive, Unicode). */
function rx(source: string): RegExp {
  let js = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      const e = source[i + 1]!;
      i++;
      if (e === "w") js += inClass ? W.slice(1, -1) : W;
      else if (e === "d") js += D;
      else if (e === "s") js += inClass ? S.slice(1, -1) : S;
      else if (e === "b") js += B;
      else if (e === "-" && !inClass) js += "-"; // an identity escape JavaScript's u-mode rejects
      else js += "\\" + e;
      continue;
    }
    if (c === "[" && !inClass) inClass = true;
    else if (c === "]" && inClass) inClass = false;
    js += c;
  }
  return new RegExp(js, "iuy");
}

const KEYWORD = "keyword"; // PROCESS_AS_KEYWORD

const SQL_REGEX: [RegExp, TType][] = (
  [
    [String.raw`(--|# )\+[^\n]*?(\r\n|\r|\n|$)`, T.CommentSingleHint],
    [String.raw`(--|# )[^\n]*?(\r\n|\r|\n|$)`, T.CommentSingle],
    [String.raw`(\r\n|\r|\n)`, T.Newline],
    [String.raw`\s+?`, T.Whitespace],
    [String.raw`:=`, T.Assignment],
    [String.raw`::`, T.Punctuation],
    [String.raw`\*`, T.Wildcard],
    ["`(``|[^`])*`", T.Name],
    ["´(´´|[^´])*´", T.Name],
    [String.raw`\?`, T.Placeholder],
    [String.raw`%(\(\w+\))?s`, T.Placeholder],
    [String.raw`(?<!\w)[$:?]\w+`, T.Placeholder],
    [String.raw`\\\w+`, T.Command],
    [String.raw`(CASE|IN|VALUES|USING|FROM|AS)\b`, T.Keyword],
    [String.raw`(@|##|#)${A}\w+`, T.Name],
    [String.raw`${A}\w*(?=\s*\.(?!\d))`, T.Name],
    [String.raw`(?<=\.)${A}\w*`, T.Name],
    [String.raw`${A}\w*(?=\()`, T.Name],
    [String.raw`-?0x[\dA-F]+`, T.Hexadecimal],
    [String.raw`-?\d+(\.\d+)?E-?\d+`, T.Float],
    [String.raw`(?![_A-ZÀ-Ü])-?(\d+(\.\d*)|\.\d+)(?![_A-ZÀ-Ü])`, T.Float],
    [String.raw`(?![_A-ZÀ-Ü])-?\d+(?![_A-ZÀ-Ü])`, T.Integer],
    [String.raw`'(''|\\'|[^'])*'`, T.Single],
    [String.raw`"(""|\\"|[^"])*"`, T.Symbol],
    [String.raw`(""|"[^\n]*?[^\\]")`, T.Symbol],
    [String.raw`(?<![\w\])])(\[[^\]\[]+\])`, T.Name],
    [String.raw`((LEFT\s+|RIGHT\s+|FULL\s+)?(INNER\s+|OUTER\s+|STRAIGHT\s+)?|(CROSS\s+|NATURAL\s+)?)?JOIN\b`, T.Keyword],
    [String.raw`END(\s+IF|\s+LOOP|\s+WHILE|\s+FOR|\s+CASE)?\b`, T.Keyword],
    [String.raw`IF\s+(NOT\s+)?EXISTS\b`, T.Keyword],
    [String.raw`NOT\s+NULL\b`, T.Keyword],
    [String.raw`(ASC|DESC)(\s+NULLS\s+(FIRST|LAST))?\b`, T.Order],
    [String.raw`(ASC|DESC)\b`, T.Order],
    [String.raw`NULLS\s+(FIRST|LAST)\b`, T.Order],
    [String.raw`UNION\s+ALL\b`, T.Keyword],
    [String.raw`CREATE(\s+OR\s+REPLACE)?\b`, T.DDL],
    [String.raw`DOUBLE\s+PRECISION\b`, T.Builtin],
    [String.raw`GROUP\s+BY\b`, T.Keyword],
    [String.raw`ORDER\s+BY\b`, T.Keyword],
    [String.raw`PRIMARY\s+KEY\b`, T.Keyword],
    [String.raw`HANDLER\s+FOR\b`, T.Keyword],
    [String.raw`GO(\s\d+)\b`, T.Keyword],
    [String.raw`(LATERAL\s+VIEW\s+)(EXPLODE|INLINE|PARSE_URL_TUPLE|POSEXPLODE|STACK)\b`, T.Keyword],
    [String.raw`(AT|WITH')\s+TIME\s+ZONE\s+'[^']+'`, T.TZCast],
    [String.raw`(NOT\s+)?(LIKE|ILIKE|RLIKE)\b`, T.Comparison],
    [String.raw`(NOT\s+)?(REGEXP)(\s+(BINARY))?\b`, T.Comparison],
    [String.raw`\w[$#\w]*`, KEYWORD],
    [String.raw`[;:()\[\],\.]`, T.Punctuation],
    [String.raw`(\->>?|#>>?|@>|<@|\?\|?|\?&|\-|#\-)`, T.Operator],
    [String.raw`[<>=~!]+`, T.Comparison],
    [String.raw`[+/@#%^&|^-]+`, T.Operator],
  ] as [string, TType][]
).map(([source, ttype]) => [rx(source), ttype]);

// ---- dollar-quoted literals and /* comments: find_delimited_spans ----------------------------

interface Spans {
  openers: Map<number, { end: number; tag: string; ttype: TType }>;
  closers: Map<string, { starts: number[]; ends: number[] }>;
}

function allMatches(re: RegExp, text: string, fn: (m: RegExpExecArray) => void): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    fn(m);
    if (m[0] === "") re.lastIndex++; // finditer steps over empty matches
  }
}

const DOLLAR_DELIM = new RegExp(String.raw`(?=(\$(?:[_A-ZÀ-Ü]${W}*)?\$))`, "giu");
const DOLLAR_OPENER_OK = new RegExp(`(?<![\\p{L}\\p{N}_"$])`, "uy");

function findDelimitedSpans(text: string): Spans {
  const spans: Spans = { openers: new Map(), closers: new Map() };
  const closers = (tag: string) => {
    if (!spans.closers.has(tag)) spans.closers.set(tag, { starts: [], ends: [] });
    return spans.closers.get(tag)!;
  };
  if (text.includes("$")) {
    allMatches(DOLLAR_DELIM, text, (m) => {
      const tag = m[1]!;
      const c = closers(tag);
      c.starts.push(m.index);
      c.ends.push(m.index + tag.length);
      DOLLAR_OPENER_OK.lastIndex = m.index;
      if (DOLLAR_OPENER_OK.test(text)) spans.openers.set(m.index, { end: m.index + tag.length, tag, ttype: T.Literal });
    });
  }
  if (text.includes("/*")) {
    allMatches(/\/\*\+/g, text, (m) => spans.openers.set(m.index, { end: m.index + 3, tag: "/*", ttype: T.CommentMultilineHint }));
    allMatches(/\/\*(?!\+)/g, text, (m) => spans.openers.set(m.index, { end: m.index + 2, tag: "/*", ttype: T.CommentMultiline }));
    const c = closers("/*");
    allMatches(/\*\//g, text, (m) => {
      c.starts.push(m.index);
      c.ends.push(m.index + 2);
    });
  }
  return spans;
}

function resolveSpan(spans: Spans, pos: number): { end: number; ttype: TType } | undefined {
  const opener = spans.openers.get(pos)!;
  const { starts, ends } = spans.closers.get(opener.tag)!;
  const i = starts.findIndex((s) => s >= opener.end); // bisect_left
  return i < 0 ? undefined : { end: ends[i]!, ttype: opener.ttype };
}

/** Lexer.get_tokens: (ttype, value) pairs. */
export function tokenize(text: string): [TType, string][] {
  const out: [TType, string][] = [];
  const spans = findDelimitedSpans(text);
  let pos = 0;
  outer: while (pos < text.length) {
    if (spans.openers.has(pos)) {
      const span = resolveSpan(spans, pos);
      if (span) {
        out.push([span.ttype, text.slice(pos, span.end)]);
        pos = span.end;
        continue;
      }
    }
    for (const [re, ttype] of SQL_REGEX) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (!m) continue;
      const value = m[0];
      out.push([ttype === KEYWORD ? (KEYWORDS.get(value.toUpperCase()) ?? T.Name) : ttype, value]);
      pos += value.length;
      continue outer;
    }
    const char = String.fromCodePoint(text.codePointAt(pos)!);
    out.push([T.Error, char]);
    pos += char.length;
  }
  return out;
}

// ---- StatementSplitter ------------------------------------------------------------------------

/** Splits the token stream into statements as StatementSplitter.process does. */
export function splitStatements(stream: [TType, string][]): Token[][] {
  const statements: Token[][] = [];
  let s = fresh();
  function fresh() {
    return { blockStack: [] as string[], unconfirmed: null as string | null, isCreate: false, seenBegin: false, consumeWs: false, tokens: [] as Token[], level: 0 };
  }

  const nested = (u: string): number | null => {
    if (u === "FOR" || u === "WHILE") return (s.unconfirmed = u), 0;
    if (u === "LOOP" || u === "DO") {
      if (s.unconfirmed === "FOR" || s.unconfirmed === "WHILE") {
        s.blockStack.push(s.unconfirmed);
        s.unconfirmed = null;
        return 1;
      }
      if (u === "LOOP") return s.blockStack.push("LOOP"), 1;
    }
    if (u === "IF" || u === "CASE") return s.blockStack.push(u), 1;
    return null;
  };
  const closing = (u: string): number => {
    const top = s.blockStack[s.blockStack.length - 1];
    const pairs: Record<string, string[]> = { "END IF": ["IF"], "END FOR": ["FOR"], "END WHILE": ["WHILE"], "END LOOP": ["LOOP", "FOR", "WHILE"], "END CASE": ["CASE"] };
    if (u in pairs) {
      if (top !== undefined && pairs[u]!.includes(top)) return s.blockStack.pop(), -1;
      return 0;
    }
    if (u === "END") {
      s.blockStack.pop();
      return -1;
    }
    return 0;
  };
  const change = (ttype: TType, value: string): number => {
    if (ttype === T.Punctuation && value === ";") {
      s.unconfirmed = null;
      if (s.seenBegin) {
        s.seenBegin = false;
        if (s.blockStack[s.blockStack.length - 1] === "BEGIN") return s.blockStack.pop(), -1;
      }
      return 0;
    }
    if (ttype === T.Punctuation && value === "(") return 1;
    if (ttype === T.Punctuation && value === ")") return -1;
    if (!under(ttype, T.Keyword)) return 0;
    const u = value.toUpperCase();
    if (ttype === T.DDL && u.startsWith("CREATE")) return (s.isCreate = true), 0;
    if (u === "DECLARE" && s.isCreate && s.blockStack.length === 0) return s.blockStack.push("DECLARE"), 1;
    if (u === "BEGIN") {
      s.seenBegin = true;
      if (s.blockStack[s.blockStack.length - 1] === "DECLARE") {
        s.blockStack.pop();
        s.blockStack.push("BEGIN");
        return 0;
      }
      return s.blockStack.push("BEGIN"), 1;
    }
    if (s.seenBegin && ["TRANSACTION", "WORK", "TRAN", "DISTRIBUTED", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"].includes(u)) {
      s.seenBegin = false;
      if (s.blockStack[s.blockStack.length - 1] === "BEGIN") return s.blockStack.pop(), -1;
      return 0;
    }
    if (s.blockStack.includes("BEGIN")) {
      const r = nested(u);
      if (r !== null) return r;
    }
    return closing(u);
  };

  for (const [ttype, value] of stream) {
    if (s.consumeWs && ttype !== T.Whitespace && ttype !== T.CommentSingle) {
      statements.push(s.tokens);
      s = fresh();
    }
    s.level += change(ttype, value);
    s.tokens.push(new Token(ttype, value));
    if (ttype === T.Punctuation && value === ";") {
      s.seenBegin = false;
      if (s.level <= 0 && !s.blockStack.includes("BEGIN")) s.consumeWs = true;
    } else if (ttype === T.Keyword && value.split(/\s+/)[0] === "GO") {
      s.consumeWs = true;
    } else if (![T.Whitespace, T.Newline, T.CommentSingle, T.CommentMultiline].includes(ttype as any) && !(ttype === T.Keyword && value.toUpperCase() === "BEGIN")) {
      s.seenBegin = false;
    }
  }
  if (s.tokens.length > 0 && !s.tokens.every((t) => t.isWhitespace)) statements.push(s.tokens);
  return statements;
}
