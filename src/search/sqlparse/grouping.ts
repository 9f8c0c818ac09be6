// sqlparse 0.6.1's grouping (engine/grouping.py): turns a statement's flat tokens into
// Identifiers, Comparisons, Parentheses and so on. Ported function by function, in the same
// order, so MLflow's checks on the resulting tree behave as they do in Python.
import { imt, type Kind, type Pattern, T, type Token, TokenList, type TType } from "./tokens";

export class SqlParseError extends Error {}

const MAX_GROUPING_DEPTH = 100;
const MAX_GROUPING_TOKENS = 10000;

const T_NUMERICAL: TType[] = [T.Number, T.Integer, T.Float];
const T_STRING: TType[] = [T.String, T.Single, T.Symbol];
const T_NAME: TType[] = [T.Name, T.Placeholder];

const DELIMITED: Kind[] = ["Parenthesis", "SquareBrackets", "Case", "If", "For", "Begin"];
const OPEN_CLOSE: Partial<Record<Kind, [Pattern, Pattern]>> = {
  Parenthesis: [[T.Punctuation, "("], [T.Punctuation, ")"]],
  SquareBrackets: [[T.Punctuation, "["], [T.Punctuation, "]"]],
  Case: [[T.Keyword, "CASE"], [T.Keyword, "END"]],
  If: [[T.Keyword, "IF"], [T.Keyword, "END IF"]],
  For: [[T.Keyword, ["FOR", "FOREACH"]], [T.Keyword, "END LOOP"]],
  Begin: [[T.Keyword, "BEGIN"], [T.Keyword, "END"]],
};
const WHERE_OPEN: Pattern = [T.Keyword, "WHERE"];
const WHERE_CLOSE: Pattern = [T.Keyword, ["ORDER BY", "GROUP BY", "LIMIT", "UNION", "UNION ALL", "EXCEPT", "INTERSECT", "HAVING", "RETURNING", "INTO"]];
const TYPED_LITERAL_OPEN: Pattern[] = [[T.Builtin, null], [T.Keyword, "TIMESTAMP"]];
const TYPED_LITERAL_CLOSE: Pattern = [T.Single, null];
const TYPED_LITERAL_EXTEND: Pattern = [T.Keyword, ["DAY", "HOUR", "MINUTE", "MONTH", "SECOND", "YEAR"]];

function limits(tlist: TokenList, depth: number): void {
  if (depth > MAX_GROUPING_DEPTH) throw new SqlParseError(`Maximum grouping depth exceeded (${MAX_GROUPING_DEPTH}).`);
  if (tlist.tokens.length > MAX_GROUPING_TOKENS) throw new SqlParseError(`Maximum number of tokens exceeded (${MAX_GROUPING_TOKENS}).`);
}

function groupMatching(tlist: TokenList, kind: Kind, depth = 0): void {
  limits(tlist, depth);
  const [open, close] = OPEN_CLOSE[kind]!;
  const opens: number[] = [];
  let offset = 0;
  for (const [idx, token] of [...tlist.tokens].entries()) {
    const tidx = idx - offset;
    if (token.isWhitespace) continue;
    if (token instanceof TokenList && token.kind !== kind) {
      groupMatching(token, kind, depth + 1);
      continue;
    }
    if (token.match(...open)) opens.push(tidx);
    else if (token.match(...close)) {
      const openIdx = opens.pop();
      if (openIdx === undefined) continue;
      tlist.groupTokens(kind, openIdx, tidx);
      offset += tidx - openIdx;
    }
  }
}

/** The @recurse decorator: children first (except excluded kinds), then the list itself. */
function recurse(fn: (tlist: TokenList) => void, ...exclude: Kind[]): (tlist: TokenList) => void {
  const wrapped = (tlist: TokenList): void => {
    for (const sub of tlist.sublists()) if (!exclude.includes(sub.kind)) wrapped(sub);
    fn(tlist);
  };
  return wrapped;
}

interface GroupSpec {
  kind: Kind;
  match(t: Token): boolean;
  validPrev(t: Token | null): boolean;
  validNext(t: Token | null): boolean;
  post(tlist: TokenList, pidx: number, tidx: number, nidx: number | null): [number, number];
  extend?: boolean;
  recurse?: boolean;
}

const isDelimiter = (tlist: TokenList, t: Token | null) =>
  t !== null && DELIMITED.includes(tlist.kind) && (t === tlist.tokens[0] || t === tlist.tokens[tlist.tokens.length - 1]);

/** _group: joins tokens around a middle token (x < y, a.b, ...). */
function group(tlist: TokenList, spec: GroupSpec, depth = 0): void {
  limits(tlist, depth);
  const extend = spec.extend ?? true;
  let offset = 0;
  let pidx: number | null = null;
  let prev: Token | null = null;
  for (const [idx, token] of [...tlist.tokens].entries()) {
    const tidx = idx - offset;
    if (tidx < 0 || token.isWhitespace) continue;
    if ((spec.recurse ?? true) && token instanceof TokenList && token.kind !== spec.kind) group(token, spec, depth + 1);
    if (spec.match(token)) {
      const [nidx, next] = tlist.tokenNext(tidx);
      if (prev && spec.validPrev(prev) && spec.validNext(next) && !isDelimiter(tlist, prev) && !isDelimiter(tlist, next)) {
        const [from, to] = spec.post(tlist, pidx!, tidx, nidx);
        const grp = tlist.groupTokens(spec.kind, from, to, extend);
        offset += to - from;
        pidx = from;
        prev = grp;
        continue;
      }
    }
    pidx = tidx;
    prev = token;
  }
}

const notNull = (t: Token | null) => t !== null;
const around = (_l: TokenList, p: number, _t: number, n: number | null): [number, number] => [p, n!];

function groupTypecasts(tlist: TokenList) {
  group(tlist, { kind: "Identifier", match: (t) => t.match(T.Punctuation, "::"), validPrev: notNull, validNext: notNull, post: around });
}

function groupTzcasts(tlist: TokenList) {
  group(tlist, {
    kind: "Identifier",
    match: (t) => t.ttype === T.TZCast,
    validPrev: notNull,
    validNext: (t) => t !== null && (t.isWhitespace || t.match(T.Keyword, "AS") || t.match(...TYPED_LITERAL_CLOSE)),
    post: around,
  });
}

function groupTypedLiteral(tlist: TokenList) {
  const post = (_l: TokenList, _p: number, t: number, n: number | null): [number, number] => [t, n!];
  group(tlist, { kind: "TypedLiteral", match: (t) => imt(t, { m: TYPED_LITERAL_OPEN }), validPrev: notNull, validNext: (t) => t !== null && t.match(...TYPED_LITERAL_CLOSE), post, extend: false });
  group(tlist, { kind: "TypedLiteral", match: (t) => t.is("TypedLiteral"), validPrev: notNull, validNext: (t) => t !== null && t.match(...TYPED_LITERAL_EXTEND), post, extend: true });
}

function groupPeriod(tlist: TokenList) {
  group(tlist, {
    kind: "Identifier",
    match: (t) => t.match(T.Punctuation, ".") || t.match(T.Operator, "->") || t.match(T.Operator, "->>"),
    validPrev: (t) => imt(t, { i: ["SquareBrackets", "Identifier"], tExact: [T.Name, T.Symbol] }),
    validNext: () => true, // issue261: checked in post
    post: (l, p, t, n) => {
      const next = n !== null ? l.tokens[n]! : null;
      return imt(next, { i: ["SquareBrackets", "Function"], tExact: [T.Name, T.Symbol, T.Wildcard, T.Single] }) ? [p, n!] : [p, t];
    },
  });
}

function groupAs(tlist: TokenList) {
  group(tlist, {
    kind: "Identifier",
    match: (t) => t.isKeyword && t.normalized === "AS",
    validPrev: (t) => t!.normalized === "NULL" || !t!.isKeyword,
    validNext: (t) => !imt(t, { tExact: [T.DML, T.DDL, T.CTE] }) && t !== null,
    post: around,
  });
}

function groupAssignment(tlist: TokenList) {
  const valid = (t: Token | null) => t !== null && t.ttype !== T.Keyword;
  group(tlist, {
    kind: "Assignment",
    match: (t) => t.match(T.Assignment, ":="),
    validPrev: valid,
    validNext: valid,
    post: (l, p, _t, n) => {
      const [semi] = l.tokenNextBy((x) => x.match(T.Punctuation, ";"), n!);
      return [p, semi || n!];
    },
  });
}

function groupComparison(tlist: TokenList) {
  const valid = (t: Token | null) =>
    imt(t, { tExact: [...T_NUMERICAL, ...T_STRING, ...T_NAME], i: ["Parenthesis", "Function", "Identifier", "Operation", "TypedLiteral"] }) ||
    (t !== null && t.isKeyword && t.normalized === "NULL");
  group(tlist, { kind: "Comparison", match: (t) => t.ttype === T.Comparison, validPrev: valid, validNext: valid, post: around, extend: false });
}

const groupIdentifier = recurse((tlist) => {
  const isName = (t: Token) => imt(t, { tExact: [T.Symbol, T.Name] });
  let [tidx, token] = tlist.tokenNextBy(isName);
  while (token) {
    tlist.groupTokens("Identifier", tidx!, tidx!);
    [tidx, token] = tlist.tokenNextBy(isName, tidx!);
  }
}, "Identifier");

const groupOver = recurse((tlist) => {
  const isOver = (t: Token) => t.match(T.Keyword, "OVER");
  let [tidx, token] = tlist.tokenNextBy(isOver);
  while (token) {
    const [nidx, next] = tlist.tokenNext(tidx);
    if (imt(next, { i: ["Parenthesis"], t: T.Name })) tlist.groupTokens("Over", tidx!, nidx!);
    [tidx, token] = tlist.tokenNextBy(isOver, tidx!);
  }
}, "Over");

function groupArrays(tlist: TokenList) {
  group(tlist, {
    kind: "Identifier",
    match: (t) => t.is("SquareBrackets"),
    validPrev: (t) => imt(t, { i: ["SquareBrackets", "Identifier", "Function"], tExact: [T.Name, T.Symbol] }),
    validNext: () => true,
    post: (_l, p, t) => [p, t],
    extend: true,
    recurse: false,
  });
}

function groupOperator(tlist: TokenList) {
  const valid = (t: Token | null) =>
    imt(t, { i: ["SquareBrackets", "Parenthesis", "Function", "Identifier", "Operation", "TypedLiteral"], tExact: [...T_NUMERICAL, ...T_STRING, ...T_NAME] }) ||
    (t !== null && t.match(T.Keyword, ["CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP"]));
  group(tlist, {
    kind: "Operation",
    match: (t) => imt(t, { tExact: [T.Operator, T.Wildcard] }),
    validPrev: valid,
    validNext: valid,
    post: (l, p, t, n) => {
      l.tokens[t]!.ttype = T.Operator;
      return [p, n!];
    },
    extend: false,
  });
}

function groupIdentifierList(tlist: TokenList) {
  const valid = (t: Token | null) =>
    imt(t, {
      i: ["Function", "Case", "Identifier", "Comparison", "IdentifierList", "Operation"],
      m: [T.Keyword, ["null", "role"]],
      tExact: [...T_NUMERICAL, ...T_STRING, ...T_NAME, T.Keyword, T.Comment, T.Wildcard],
    });
  group(tlist, { kind: "IdentifierList", match: (t) => t.match(T.Punctuation, ","), validPrev: valid, validNext: valid, post: around, extend: true });
}

const groupComments = recurse((tlist) => {
  const isComment = (t: Token) => imt(t, { t: T.Comment });
  let [tidx, token] = tlist.tokenNextBy(isComment);
  while (token) {
    let [eidx, end] = tlist.tokenNotMatching((t) => isComment(t) || t.isNewline, tidx!);
    if (end === null) break;
    [eidx] = tlist.tokenPrev(eidx, false);
    tlist.groupTokens("Comment", tidx!, eidx!);
    [tidx, token] = tlist.tokenNextBy(isComment, tidx!);
  }
}, "Comment");

const groupWhere = recurse((tlist) => {
  let [tidx, token] = tlist.tokenNextBy((t) => t.match(...WHERE_OPEN));
  while (token) {
    const [eidx, endTok] = tlist.tokenNextBy((t) => t.match(...WHERE_CLOSE), tidx!);
    const groupable = tlist.groupableTokens;
    const end = endTok === null ? groupable[groupable.length - 1]! : tlist.tokens[eidx! - 1]!;
    tlist.groupTokens("Where", tidx!, tlist.tokenIndex(end));
    [tidx, token] = tlist.tokenNextBy((t) => t.match(...WHERE_OPEN), tidx!);
  }
}, "Where");

const groupAliased = recurse((tlist) => {
  const alias = (t: Token) => imt(t, { i: ["Parenthesis", "Function", "Case", "Identifier", "Operation", "Comparison"], t: T.Number });
  let [tidx, token] = tlist.tokenNextBy(alias);
  while (token) {
    const [nidx, next] = tlist.tokenNext(tidx);
    if (next !== null && next.is("Identifier")) tlist.groupTokens("Identifier", tidx!, nidx!, true);
    [tidx, token] = tlist.tokenNextBy(alias, tidx!);
  }
});

const groupFunctions = recurse((tlist) => {
  const upper = tlist.tokens.map((t) => t.value.toUpperCase());
  if (upper.includes("CREATE") && upper.includes("TABLE") && !upper.includes("AS")) return;
  const isName = (t: Token) => imt(t, { t: T.Name });
  let [tidx, token] = tlist.tokenNextBy(isName);
  while (token) {
    const [nidx, next] = tlist.tokenNext(tidx);
    if (next !== null && next.is("Parenthesis")) {
      const [overIdx, over] = tlist.tokenNext(nidx);
      tlist.groupTokens("Function", tidx!, over !== null && over.is("Over") ? overIdx! : nidx!);
    }
    [tidx, token] = tlist.tokenNextBy(isName, tidx!);
  }
}, "Function");

const groupOrder = recurse((tlist) => {
  const isOrder = (t: Token) => imt(t, { t: T.Order });
  let [tidx, token] = tlist.tokenNextBy(isOrder);
  while (token) {
    const [pidx, prev] = tlist.tokenPrev(tidx);
    if (imt(prev, { i: ["Identifier"], t: T.Number })) {
      tlist.groupTokens("Identifier", pidx!, tidx!);
      tidx = pidx;
    }
    [tidx, token] = tlist.tokenNextBy(isOrder, tidx!);
  }
}, "Identifier");

const alignComments = recurse((tlist) => {
  const isComment = (t: Token) => t.is("Comment");
  let [tidx, token] = tlist.tokenNextBy(isComment);
  while (token) {
    const [pidx, prev] = tlist.tokenPrev(tidx);
    if (prev instanceof TokenList) {
      // group_tokens(sql.TokenList, ..., extend=True): every group is a TokenList, so the
      // comment is appended to the previous group, whatever its class.
      tlist.groupTokens(prev.kind, pidx!, tidx!, true);
      tidx = pidx;
    }
    [tidx, token] = tlist.tokenNextBy(isComment, tidx!);
  }
});

function groupValues(tlist: TokenList) {
  let [tidx, token] = tlist.tokenNextBy((t) => t.match(T.Keyword, "VALUES"));
  const start = tidx;
  let end = -1;
  while (token) {
    if (token.is("Parenthesis")) end = tidx!;
    [tidx, token] = tlist.tokenNext(tidx);
  }
  if (end !== -1) tlist.groupTokens("Values", start!, end, true);
}

/** grouping.group(stmt). */
export function groupStatement(stmt: TokenList): TokenList {
  for (const fn of [
    groupComments,
    (l: TokenList) => groupMatching(l, "SquareBrackets"),
    (l: TokenList) => groupMatching(l, "Parenthesis"),
    (l: TokenList) => groupMatching(l, "Case"),
    (l: TokenList) => groupMatching(l, "If"),
    (l: TokenList) => groupMatching(l, "For"),
    (l: TokenList) => groupMatching(l, "Begin"),
    groupOver,
    groupFunctions,
    groupWhere,
    groupPeriod,
    groupArrays,
    groupIdentifier,
    groupOrder,
    groupTypecasts,
    groupTzcasts,
    groupTypedLiteral,
    groupOperator,
    groupComparison,
    groupAs,
    groupAliased,
    groupAssignment,
    alignComments,
    groupIdentifierList,
    groupValues,
  ]) {
    fn(stmt);
  }
  return stmt;
}
