// sqlparse.parse(): lex, split into statements, group each. The entry point MLflow's search
// utilities call (utils/search_utils.py) and so the one its TypeScript port calls.
import { groupStatement, SqlParseError } from "./grouping";
import { splitStatements, tokenize } from "./lexer";
import { TokenList } from "./tokens";

export { SqlParseError } from "./grouping";
export { imt, T, Token, TokenList, under, type Kind, type TType } from "./tokens";

/** sqlparse.parse(sql): the grouped statements. Throws SqlParseError where sqlparse raises. */
export function parse(sql: string): TokenList[] {
  try {
    return splitStatements(tokenize(sql)).map((tokens) => groupStatement(new TokenList("Statement", tokens)));
  } catch (e) {
    if (e instanceof RangeError) throw new SqlParseError("Maximum recursion depth exceeded");
    throw e;
  }
}
