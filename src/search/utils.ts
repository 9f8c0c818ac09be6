// MLflow's SearchUtils (utils/search_utils.py): the parts every search shares. Filters and
// order_by clauses go through sqlparse and come out as {type, key, comparator, value}; page
// tokens are base64 of json.dumps({"offset": N}). Messages are MLflow's, word for word.
// Entity-specific rules (valid keys, comparators, SQL) live with each entity (experiments.ts).
import { MlflowError } from "../errors";
import { literalEval } from "../python/literal";
import { b64decode, jsonLoads, PyDict, PyError, pyBytesRepr, pyIntOf, pyRepr, pyStr, PyTuple, pyType, type PyValue, shlexSplit } from "../python/builtins";
import { parse, SqlParseError, T, Token, TokenList } from "./sqlparse";

export const invalid = (message: string) => MlflowError.invalid(message);

/** A Python exception MLflow does not catch: the server answers INTERNAL_ERROR with str(e). */
export function internal(e: unknown): never {
  if (e instanceof PyError) throw new MlflowError(e.message, "INTERNAL_ERROR");
  throw e;
}

export interface Clause {
  type: string;
  key: string;
  comparator: string;
  /** string, bigint (Integer), number (Float), a tuple of strings (IN lists) or null (IS NULL). */
  value: PyValue;
}

export const ATTRIBUTE = "attribute";
export const TAG = "tag";

export const STRING_VALUE_TYPES = [T.Single];
export const NUMERIC_VALUE_TYPES = [T.Integer, T.Float];

const isQuoted = (v: string, q: string) => v.length >= 2 && v.startsWith(q) && v.endsWith(q);

/** _trim_backticks */
export function trimBackticks(v: string): string {
  return isQuoted(v, "`") ? v.slice(1, -1) : v;
}

/** _strip_quotes */
export function stripQuotes(value: string, expectQuoted = false): string {
  if (isQuoted(value, "'") || isQuoted(value, '"')) return value.slice(1, -1);
  if (expectQuoted) {
    throw invalid(`Parameter value is either not quoted or unidentified quote types used for string value ${value}. Use either single or double quotes.`);
  }
  return value;
}

/** parse_search_filter's checks around sqlparse.parse: one statement, or MLflow's errors. */
export function parseFilterStatement(filter: string): TokenList {
  let parsed: TokenList[];
  try {
    parsed = parse(filter);
  } catch (e) {
    if (e instanceof SqlParseError) throw invalid(`Error on parsing filter '${filter}'`);
    throw e;
  }
  if (parsed.length === 0) throw invalid(`Invalid filter '${filter}'. Could not be parsed.`);
  if (parsed.length > 1) throw invalid(`Search filter contained multiple expression ${pyRepr(filter)}. Provide AND-ed expression list.`);
  return parsed[0]!;
}

/**
 * _join_in_comparison_tokens (sqlparse >= 0.4.4): sqlparse does not group `x IN (...)`,
 * `x NOT IN (...)`, `x IS NULL`, `x IS NOT NULL`; MLflow joins them into Comparisons. Drops
 * whitespace. Its quirks stay: the last two tokens are never examined, and after a
 * non-matching Identifier the next three tokens are passed over.
 */
export function joinInComparisonTokens(tokens: Token[]): Token[] {
  const toks = tokens.filter((t) => !t.isWhitespace);
  const out: Token[] = [];
  const comparison = (parts: Token[]) => {
    const c = new TokenList("Comparison", parts); // Python: Comparison(TokenList(parts))
    c.value = parts.map((t) => t.value).join("");
    return c;
  };
  let i = 0;
  while (i < toks.length) {
    const first = toks[i]!;
    if (toks.length - i < 3) {
      out.push(...toks.slice(i));
      break;
    }
    i++;
    if (!first.is("Identifier")) {
      out.push(first);
      continue;
    }
    const second = toks[i++]!;
    const third = toks[i++]!;
    if (second.match(T.Keyword, ["IN"]) && third.is("Parenthesis")) {
      out.push(comparison([first, second, third]));
      continue;
    }
    if (second.match(T.Keyword, ["IS"]) && third.match(T.Keyword, ["NULL"])) {
      out.push(comparison([first, new Token(T.Keyword, "IS NULL")]));
      continue;
    }
    if (second.match(T.Keyword, ["IS"]) && third.ttype === T.Keyword && third.value.toUpperCase() === "NOT NULL") {
      out.push(comparison([first, new Token(T.Keyword, "IS NOT NULL")]));
      continue;
    }
    const fourth = toks[i++];
    if (fourth === undefined) {
      out.push(first, second, third);
      break;
    }
    if (second.match(T.Keyword, ["NOT"]) && third.match(T.Keyword, ["IN"]) && fourth.is("Parenthesis")) {
      out.push(comparison([first, new Token(T.Keyword, "NOT IN"), fourth]));
      continue;
    }
    out.push(first, second, third, fourth);
  }
  return out;
}

/** SearchUtils._validate_comparison on a comparison's non-whitespace tokens. */
export function validateComparison(tokens: Token[]): void {
  const base = "Invalid comparison clause";
  if (tokens.length === 2 && ["IS NULL", "IS NOT NULL"].includes(tokens[1]!.value.toUpperCase())) {
    if (!tokens[0]!.is("Identifier")) throw invalid(`${base}. Expected 'Identifier' found '${tokens[0]}'`);
    return;
  }
  if (tokens.length !== 3) throw invalid(`${base}. Expected 3 tokens found ${tokens.length}`);
  if (!tokens[0]!.is("Identifier")) throw invalid(`${base}. Expected 'Identifier' found '${tokens[0]}'`);
}

export interface ValueRules {
  numericAttributes: ReadonlySet<string>;
  /** LIST_SUPPORTED_KEYS: attributes that accept `IN (...)` lists. */
  listKeys: readonly string[];
}

/** SearchUtils._get_value for tags and attributes. */
export function getValue(type: string, key: string, token: Token, rules: ValueRules): PyValue {
  const stringy = (token.ttype !== null && STRING_VALUE_TYPES.includes(token.ttype as any)) || token.is("Identifier");
  if (type === TAG || type === "parameter") {
    if (stringy) return stripQuotes(token.value, true);
    throw invalid(`Expected a quoted string value for ${type} (e.g. 'my-value'). Got value ${token.value}`);
  }
  if (rules.numericAttributes.has(key)) {
    if (token.ttype === null || !NUMERIC_VALUE_TYPES.includes(token.ttype as any)) {
      throw invalid(`Expected numeric value type for numeric attribute: ${key}. Found ${token.value}`);
    }
    return token.ttype === T.Integer ? BigInt(token.value) : Number(token.value);
  }
  if (stringy) return stripQuotes(token.value, true);
  if (token.is("Parenthesis")) {
    if (!rules.listKeys.includes(key)) {
      throw invalid(`Only ${pyRepr([...rules.listKeys].sort())} attributes support comparison with a list of quoted string values.`);
    }
    return parseListFromSqlToken(token);
  }
  throw invalid(`Expected a quoted string value for attributes. Got value ${token.value}`);
}

/** _parse_list_from_sql_token: ast.literal_eval of "(...)", which must give strings. */
export function parseListFromSqlToken(token: Token): PyTuple {
  let parsed: PyValue;
  try {
    parsed = literalEval(token.value);
  } catch (e) {
    if (e instanceof PyError && e.type === "SyntaxError") {
      throw invalid("While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.");
    }
    internal(e);
  }
  const tuple = parsed instanceof PyTuple ? parsed : new PyTuple([parsed]);
  if (tuple.items.length === 0) {
    throw invalid("While parsing a list in the query, expected a non-empty list of string values, but got empty list");
  }
  if (!tuple.items.every((x) => typeof x === "string")) {
    throw invalid(`While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ${pyRepr(tuple)}`);
  }
  return tuple;
}

// ---- order_by ----------------------------------------------------------------------------------

/**
 * Parsed order_by clauses by their text: parsing is the SQL tokenizer's work (a fifth of a
 * SearchExperiments request with the default order), and clients repeat the same few clauses.
 * Only clauses that parse are kept; a bounded number.
 */
const parsedOrderBy = new Map<string, readonly [string, boolean]>();
const PARSED_ORDER_BY_MAX = 1000;

/** _parse_order_by_string: the clause's key text and whether it is ascending. */
export function parseOrderByString(orderBy: string): readonly [string, boolean] {
  let parsed = parsedOrderBy.get(orderBy);
  if (parsed === undefined) {
    parsed = parseOrderByStringOnce(orderBy);
    if (parsedOrderBy.size < PARSED_ORDER_BY_MAX) parsedOrderBy.set(orderBy, parsed);
  }
  return parsed;
}

function parseOrderByStringOnce(orderBy: string): [string, boolean] {
  const couldNot = () => invalid(`Invalid order_by clause '${orderBy}'. Could not be parsed.`);
  let parsed: TokenList[];
  try {
    parsed = parse(orderBy);
  } catch (e) {
    if (e instanceof SqlParseError) throw invalid(`Error on parsing order_by clause '${orderBy}'`);
    throw e;
  }
  if (parsed.length !== 1) throw couldNot();
  const tokens = parsed[0]!.tokens;
  const last = tokens[tokens.length - 1]!;
  let value: string;
  if (tokens.length === 1 && tokens[0]!.is("Identifier")) value = tokens[0]!.value;
  else if (tokens.length === 1 && tokens[0]!.match(T.Builtin, ["timestamp"])) value = "timestamp";
  else if (tokens[0]!.match(T.Builtin, ["timestamp"]) && tokens.slice(1, -1).every((t) => t.isWhitespace) && last.ttype === T.Order) {
    value = "timestamp " + last.value;
  } else throw couldNot();

  let words: string[];
  try {
    words = shlexSplit(value.replace(/`/g, '"'));
  } catch (e) {
    internal(e);
  }
  if (words.length > 2) throw couldNot();
  if (words.length === 2) {
    const order = words[1]!.toLowerCase();
    if (order !== "asc" && order !== "desc") throw invalid(`Invalid ordering key in order_by clause '${orderBy}'.`);
    return [words[0]!, order === "asc"];
  }
  return [value, true];
}

// ---- page tokens -------------------------------------------------------------------------------

/** SearchUtils.parse_start_offset_from_page_token. */
export function parseStartOffset(pageToken: string | undefined): number {
  if (!pageToken) return 0;
  let decoded: Uint8Array | undefined;
  try {
    decoded = b64decode(pageToken);
  } catch (e) {
    internal(e);
  }
  if (decoded === undefined) throw invalid("Invalid page token, could not base64-decode");
  const parsed = jsonLoads(decoded);
  if (parsed === undefined) throw invalid(`Invalid page token, decoded value=${pyBytesRepr(decoded)}`);
  if (!(parsed instanceof PyDict)) throw new MlflowError(`'${pyType(parsed)}' object has no attribute 'get'`, "INTERNAL_ERROR");
  const offset = parsed.get("offset") ?? null;
  if (!truthy(offset)) throw invalid(`Invalid page token, parsed value=${pyRepr(parsed)}`);
  let n: bigint;
  try {
    n = pyIntOf(offset);
  } catch (e) {
    if (e instanceof PyError && e.type === "ValueError") throw invalid(`Invalid page token, not stringable ${pyStr(offset)}`);
    internal(e);
  }
  return Number(n);
}

/** Python truthiness of a JSON value. */
function truthy(v: PyValue): boolean {
  if (v === null || v === false || v === 0 || v === 0n || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyDict) return v.entries.length > 0;
  return true;
}

/** SearchUtils.create_page_token: base64 of json.dumps({"offset": N}). */
export function createPageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }).replace(":", ": ")).toString("base64");
}
