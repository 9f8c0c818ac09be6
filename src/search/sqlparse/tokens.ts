// The token tree of sqlparse 0.6.1 (sqlparse/tokens.py and sqlparse/sql.py), which MLflow's
// search filters are parsed with. MLflow's error messages quote tokens as sqlparse prints them
// and its checks ask sqlparse's questions (isinstance, ttype in, match), so this is a port,
// not a re-design: same names, same semantics, including the quirks.

/**
 * A token type, dotted as sqlparse prints it without "Token." (e.g. "Keyword.DML",
 * "Literal.String.Single"). sqlparse's types are tuples; `in` on one is hierarchical.
 */
export type TType = string;

export const T = {
  Text: "Text",
  Whitespace: "Text.Whitespace",
  Newline: "Text.Whitespace.Newline",
  Error: "Error",
  Keyword: "Keyword",
  DML: "Keyword.DML",
  DDL: "Keyword.DDL",
  CTE: "Keyword.CTE",
  Order: "Keyword.Order",
  TZCast: "Keyword.TZCast",
  Name: "Name",
  Placeholder: "Name.Placeholder",
  Builtin: "Name.Builtin",
  Literal: "Literal",
  String: "Literal.String",
  Single: "Literal.String.Single",
  Symbol: "Literal.String.Symbol",
  Number: "Literal.Number",
  Integer: "Literal.Number.Integer",
  Float: "Literal.Number.Float",
  Hexadecimal: "Literal.Number.Hexadecimal",
  Punctuation: "Punctuation",
  Operator: "Operator",
  Comparison: "Operator.Comparison",
  Wildcard: "Wildcard",
  Comment: "Comment",
  CommentSingle: "Comment.Single",
  CommentSingleHint: "Comment.Single.Hint",
  CommentMultiline: "Comment.Multiline",
  CommentMultilineHint: "Comment.Multiline.Hint",
  Assignment: "Assignment",
  Command: "Generic.Command",
} as const;

/** `ttype in parent` for one sqlparse token type: hierarchical. */
export function under(ttype: TType | null, parent: TType): boolean {
  return ttype !== null && (ttype === parent || ttype.startsWith(parent + "."));
}

/** The group classes of sql.py. All of them subclass TokenList directly. */
export type Kind =
  | "Statement" | "Identifier" | "IdentifierList" | "TypedLiteral" | "Parenthesis" | "SquareBrackets"
  | "Assignment" | "If" | "For" | "Comparison" | "Comment" | "Where" | "Over" | "Having" | "Case"
  | "Function" | "Begin" | "Operation" | "Values" | "Command";

/** A (ttype, values) pattern for Token.match; null values match any value. */
export type Pattern = readonly [TType, string | readonly string[] | null];

export class Token {
  parent: TokenList | null = null;
  ttype: TType | null;
  value: string;
  readonly isKeyword: boolean;
  readonly isWhitespace: boolean;
  readonly isNewline: boolean;
  readonly normalized: string;

  constructor(ttype: TType | null, value: string) {
    this.ttype = ttype;
    this.value = value;
    this.isKeyword = under(ttype, T.Keyword);
    this.isWhitespace = under(ttype, T.Whitespace);
    this.isNewline = under(ttype, T.Newline);
    this.normalized = this.isKeyword ? value.toUpperCase() : value;
  }

  get isGroup(): boolean {
    return false;
  }

  toString(): string {
    return this.value;
  }

  /** Token.match: exact ttype identity, then value membership (case-insensitive for keywords). */
  match(ttype: TType, values: string | readonly string[] | null = null): boolean {
    if (this.ttype !== ttype) return false;
    if (values === null) return true;
    const list = typeof values === "string" ? [values] : values;
    return list.some((v) => this.normalized === (this.isKeyword ? v.toUpperCase() : v));
  }

  is(...kinds: Kind[]): boolean {
    return this instanceof TokenList && kinds.includes(this.kind);
  }
}

export class TokenList extends Token {
  tokens: Token[];

  constructor(
    readonly kind: Kind,
    tokens: Token[] = [],
  ) {
    super(null, tokens.map((t) => t.value).join(""));
    this.tokens = tokens;
    for (const t of tokens) t.parent = this;
  }

  override get isGroup(): boolean {
    return true;
  }

  override toString(): string {
    let s = "";
    for (const t of this.flatten()) s += t.value;
    return s;
  }

  *flatten(): Generator<Token> {
    for (const t of this.tokens) {
      if (t instanceof TokenList) yield* t.flatten();
      else yield t;
    }
  }

  sublists(): TokenList[] {
    return this.tokens.filter((t): t is TokenList => t instanceof TokenList);
  }

  /** Parenthesis and SquareBrackets exclude their delimiters. */
  get groupableTokens(): Token[] {
    return this.kind === "Parenthesis" || this.kind === "SquareBrackets" ? this.tokens.slice(1, -1) : this.tokens;
  }

  private matching(fn: (t: Token) => boolean, start: number | null, reverse = false): [number | null, Token | null] {
    if (start === null) return [null, null];
    if (reverse) {
      for (let i = start - 2; i >= 0; i--) if (fn(this.tokens[i]!)) return [i, this.tokens[i]!];
    } else {
      for (let i = start; i < this.tokens.length; i++) if (fn(this.tokens[i]!)) return [i, this.tokens[i]!];
    }
    return [null, null];
  }

  tokenNextBy(test: (t: Token) => boolean, idx = -1): [number | null, Token | null] {
    return this.matching(test, idx + 1);
  }

  tokenNotMatching(test: (t: Token) => boolean, idx: number): [number | null, Token | null] {
    return this.matching((t) => !test(t), idx);
  }

  tokenNext(idx: number | null, skipWs = true, reverse = false): [number | null, Token | null] {
    if (idx === null) return [null, null];
    return this.matching((t) => !(skipWs && t.isWhitespace), idx + 1, reverse);
  }

  tokenPrev(idx: number | null, skipWs = true): [number | null, Token | null] {
    return this.tokenNext(idx, skipWs, true);
  }

  tokenIndex(token: Token): number {
    return this.tokens.indexOf(token);
  }

  /** Replaces tokens[start..end] by one group of `kind` (or extends `start` if it is one). */
  groupTokens(kind: Kind, start: number, end: number, extend = false): TokenList {
    const first = this.tokens[start]!;
    let group: TokenList;
    let sub: Token[];
    if (extend && first instanceof TokenList && first.kind === kind) {
      sub = this.tokens.slice(start + 1, end + 1);
      group = first;
      group.tokens.push(...sub);
      this.tokens.splice(start + 1, end - start);
      group.value += sub.map((t) => t.value).join("");
    } else {
      sub = this.tokens.slice(start, end + 1);
      group = new TokenList(kind, sub);
      this.tokens.splice(start, end - start + 1, group);
      group.parent = this;
    }
    for (const t of sub) t.parent = group;
    return group;
  }
}

/** Python's imt(): instance of, match, or token type. `t` given as one type is hierarchical;
 * given as a tuple (array here) it is compared exactly, as Python's tuple `in` does. */
export function imt(
  token: Token | null,
  opts: { i?: readonly Kind[]; m?: Pattern | readonly Pattern[]; t?: TType; tExact?: readonly TType[] },
): boolean {
  if (token === null) return false;
  if (opts.i && token.is(...opts.i)) return true;
  if (opts.m) {
    const patterns = (Array.isArray(opts.m[0]) ? opts.m : [opts.m]) as readonly Pattern[];
    if (patterns.some(([tt, v]) => token.match(tt, v))) return true;
  }
  if (opts.t !== undefined && under(token.ttype, opts.t)) return true;
  if (opts.tExact && token.ttype !== null && opts.tExact.includes(token.ttype)) return true;
  return false;
}
