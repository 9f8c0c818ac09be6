// search-experiments: SearchExperimentsUtils (utils/search_utils.py) for the grammar, and
// sqlalchemy_store.py's _get_search_experiments_filter_clauses / _order_by_clauses for what
// the parsed clauses mean in SQL. Both dialects compare as MLflow's SQLAlchemy SQL does:
// LIKE as the database does it (case-sensitive: SQLite runs with case_sensitive_like on),
// ILIKE as `lower(x) LIKE lower(y)` on SQLite and ILIKE on PostgreSQL.
import { MlflowError } from "../errors";
import type { Dialect } from "../store/db";
import { type Fragment, join, list, raw, sql } from "../store/sql";
import { PyTuple, pyFloatRepr, pyInt, pyStrRepr } from "../python/builtins";
import { ATTRIBUTE, type Clause, getValue, invalid, joinInComparisonTokens, parseFilterStatement, parseOrderByString, TAG, trimBackticks, stripQuotes, validateComparison } from "./utils";
import type { Token } from "./sqlparse";

// MLflow prints these Python sets in its messages; a set's order is per-process in Python
// (hash randomisation). This is one order the real server prints.
const KEYS_REPR = "{'creation_time', 'name', 'last_update_time', 'experiment_id'}";
const STRING_COMPARATORS_REPR = "{'IN', '=', 'NOT IN', 'ILIKE', 'LIKE', '!='}";

const VALID_KEYS = new Set(["name", "experiment_id", "creation_time", "last_update_time"]);
const NUMERIC = new Set(["creation_time", "last_update_time"]);
const STRING_COMPARATORS = new Set(["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"]);
const NUMERIC_COMPARATORS = new Set([">", ">=", "!=", "=", "<", "<="]);
const RULES = { numericAttributes: NUMERIC, listKeys: ["experiment_id"] };

/** SearchExperimentsUtils._get_identifier (the registry's version order_by uses it too, with its own keys). */
export function getIdentifier(identifier: string, validKeys: ReadonlySet<string> = VALID_KEYS, keysRepr = KEYS_REPR): { type: string; key: string } {
  const dot = identifier.indexOf(".");
  let type = ATTRIBUTE;
  let key = identifier;
  if (dot >= 0) {
    const entity = identifier.slice(0, dot);
    key = identifier.slice(dot + 1);
    if (!["attribute", "attributes", "tag", "tags"].includes(entity)) {
      throw invalid(`Invalid entity type '${entity}'. Valid entity types are ('attribute', 'attributes', 'tag', 'tags')`);
    }
    type = entity.startsWith("tag") ? TAG : ATTRIBUTE;
  }
  key = trimBackticks(stripQuotes(key));
  if (type === ATTRIBUTE && !validKeys.has(key)) throw invalid(`Invalid attribute key '${key}' specified. Valid keys are '${keysRepr}'`);
  return { type, key };
}

/** SearchExperimentsUtils._get_comparison */
function getComparison(comparison: Token & { tokens: Token[] }): Clause {
  const tokens = comparison.tokens.filter((t) => !t.isWhitespace);
  validateComparison(tokens);
  if (tokens.length === 2) {
    const comparator = tokens[1]!.value.toUpperCase();
    const id = getIdentifier(tokens[0]!.value);
    if (id.type !== TAG) throw invalid(`IS NULL / IS NOT NULL is only supported for tags, not for attribute '${id.key}'`);
    return { ...id, comparator, value: null };
  }
  const [left, comparator, right] = tokens as [Token, Token, Token];
  const id = getIdentifier(left.value);
  return { ...id, comparator: comparator.value, value: getValue(id.type, id.key, right, RULES) };
}

/** SearchExperimentsUtils.parse_search_filter: the AND-ed clauses of a filter string. */
export function parseExperimentFilter(filter: string): Clause[] {
  if (!filter) return [];
  const tokens = joinInComparisonTokens(parseFilterStatement(filter).tokens);
  const invalids = tokens.filter((t) => !(t.is("Comparison") || t.isWhitespace || t.match("Keyword", ["AND"])));
  if (invalids.length > 0) throw invalid(`Invalid clause(s) in filter string: ${invalids.map(String).join(", ")}`);
  return tokens.filter((t) => t.is("Comparison")).map((t) => getComparison(t as Token & { tokens: Token[] }));
}

/** SearchExperimentsUtils.parse_order_by_for_search_experiments */
export function parseExperimentOrderBy(orderBy: string): { type: string; key: string; ascending: boolean } {
  const [value, ascending] = parseOrderByString(orderBy);
  return { ...getIdentifier(value.trim()), ascending };
}

/** validation.py's _parse_experiment_id: Python's int() of the id, or MLflow's error. */
export function parseExperimentId(id: string): bigint {
  const n = pyInt(id);
  if (n === undefined) throw invalid(`Invalid experiment ID '${id}'. Experiment ID must be a valid integer.`);
  return n;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT32_MAX = 2n ** 31n - 1n;

/**
 * A Python int as a bound parameter. Beyond 64 bits Python's sqlite3 refuses it (MLflow then
 * answers INTERNAL_ERROR); psycopg2 inlines it as a numeric literal, so on PostgreSQL it just
 * compares, which clamping to the 64-bit range reproduces for BIGINT columns.
 */
export function sqlInteger(v: bigint, dialect: Dialect): number | bigint {
  if (v > INT64_MAX || v < -INT64_MAX - 1n) {
    if (dialect === "sqlite") throw new MlflowError("Python int too large to convert to SQLite INTEGER", "INTERNAL_ERROR");
    v = v > 0n ? INT64_MAX : -INT64_MAX - 1n;
  }
  return Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

/**
 * An experiment id as a parameter for experiments.experiment_id (INTEGER). On PostgreSQL that
 * is int4, so an id outside it can match no row: undefined (callers answer "not found").
 */
export function experimentIdParam(id: bigint, dialect: Dialect): number | bigint | undefined {
  if (dialect === "postgres" && (id > INT32_MAX || id < -INT32_MAX - 1n)) return undefined;
  return sqlInteger(id, dialect);
}

const COLUMNS: Record<string, Fragment> = {
  name: raw("experiments.name"),
  experiment_id: raw("experiments.experiment_id"),
  creation_time: raw("experiments.creation_time"),
  last_update_time: raw("experiments.last_update_time"),
};

/** `column <comparator> value` as SearchUtils.get_sql_comparison_func renders it per dialect. */
export function compare(column: Fragment, comparator: string, value: unknown, dialect: Dialect): Fragment {
  switch (comparator) {
    case "LIKE": return sql`${column} LIKE ${value}`;
    case "ILIKE": return dialect === "postgres" ? sql`${column} ILIKE ${value}` : sql`lower(${column}) LIKE lower(${value})`;
    case "IN": return sql`${column} IN (${list(value as unknown[])})`;
    case "NOT IN": return sql`${column} NOT IN (${list(value as unknown[])})`;
    default: return sql`${column} ${raw(comparator)} ${value}`; // = != < <= > >= (checked by callers)
  }
}

export interface FilterSql {
  conditions: Fragment[];
  /**
   * An error the database driver raises when binding a value (an int beyond 64 bits on
   * SQLite, a tuple): MLflow meets it only when executing, after every other check, so the
   * caller throws it just before running the query.
   */
  bindError?: MlflowError;
}

/** _get_search_experiments_filter_clauses: one SQL condition per clause. */
export function experimentFilterSql(clauses: Clause[], dialect: Dialect): FilterSql {
  let bindError: MlflowError | undefined;
  const bind = (v: bigint): number | bigint => {
    try {
      return sqlInteger(v, dialect);
    } catch (e) {
      bindError ??= e as MlflowError;
      return 0;
    }
  };
  // Where each parameter lands in MLflow's statement (for the tuple message): tag value
  // filters are joins, bound before the WHERE clause; the rest bind in order within it.
  const isJoin = (c: Clause) => c.type === TAG && !c.comparator.toUpperCase().startsWith("IS ");
  let position = 2 * clauses.filter(isJoin).length;
  const conditions = clauses.map((clause): Fragment => {
    const { type, key, value } = clause;
    const comparator = clause.comparator.toUpperCase();
    const first = position + 1;
    if (!isJoin(clause)) position += value instanceof PyTuple && comparator.includes("IN") ? value.items.length : 1;
    if (type === ATTRIBUTE && key === "experiment_id") {
      if (!["=", "!=", "IN", "NOT IN"].includes(comparator)) throw invalid(`Invalid comparator for experiment_id: ${comparator}`);
      const ids = (value instanceof PyTuple ? value.items : [value]).map((v) => parseExperimentId(v as string));
      // experiments.experiment_id is int4 on PostgreSQL: ids beyond it match nothing.
      const fits = dialect === "sqlite" ? ids : ids.filter((id) => experimentIdParam(id, dialect) !== undefined);
      if (!(value instanceof PyTuple)) {
        if (fits.length === 0) return raw(comparator === "=" ? "1 = 0" : "1 = 1");
        return compare(COLUMNS.experiment_id!, comparator, bind(ids[0]!), dialect);
      }
      if (!comparator.includes("IN")) {
        // experiment_id = ('1', '2'): SQLAlchemy binds the tuple as one parameter. Python's
        // sqlite3 refuses it; psycopg2 inlines `(1, 2)`, a row value PostgreSQL cannot compare
        // with an integer (but `(1)` it can).
        if (dialect === "sqlite") bindError ??= new MlflowError(`(sqlite3.ProgrammingError) Error binding parameter ${first}: type 'tuple' is not supported`, "BAD_REQUEST");
        return sql`experiments.experiment_id ${raw(comparator)} (${list(ids.map(bind))})`;
      }
      if (fits.length === 0) return raw(comparator === "IN" ? "1 = 0" : "1 = 1");
      return compare(COLUMNS.experiment_id!, comparator, fits.map(bind), dialect);
    }
    if (type === ATTRIBUTE) {
      if (!NUMERIC.has(key)) {
        if (!STRING_COMPARATORS.has(comparator)) throw invalid(`Invalid comparator '${comparator}' not one of '${STRING_COMPARATORS_REPR}'`);
        if (!["=", "!=", "LIKE", "ILIKE"].includes(comparator)) throw invalid(`Invalid comparator for string attribute: ${comparator}`);
        return compare(COLUMNS[key]!, comparator, value, dialect);
      }
      if (!NUMERIC_COMPARATORS.has(comparator)) throw invalid(`Invalid comparator '${comparator}' not one of '${STRING_COMPARATORS_REPR}`);
      if (typeof value === "number") throw invalid(`Invalid value for numeric attribute '${key}': ${pyStrRepr(pyFloatRepr(value))}`);
      return compare(COLUMNS[key]!, comparator, bind(value as bigint), dialect);
    }
    // Tags: MLflow joins a filtered subquery of experiment_tags (IS NULL: NOT EXISTS); there is
    // at most one tag per key and experiment, so EXISTS is the same condition.
    const tagExists = (condition: Fragment) =>
      sql`EXISTS (SELECT 1 FROM experiment_tags WHERE experiment_tags.experiment_id = experiments.experiment_id AND experiment_tags.key = ${key}${condition})`;
    if (comparator === "IS NULL") return sql`NOT ${tagExists(raw(""))}`;
    if (comparator === "IS NOT NULL") return tagExists(raw(""));
    if (!["=", "!=", "LIKE", "ILIKE"].includes(comparator)) throw invalid(`Invalid comparator for tag: ${comparator}`);
    return tagExists(sql` AND ${compare(raw("experiment_tags.value"), comparator, value, dialect)}`);
  });
  return { conditions, bindError };
}

/** _get_search_experiments_order_by_clauses: defaults, then experiment_id DESC as tie-breaker. */
export function experimentOrderBySql(orderBy: readonly string[]): Fragment {
  const parsed = (orderBy.length ? orderBy : ["creation_time DESC", "experiment_id ASC"]).map(parseExperimentOrderBy);
  for (const { type } of parsed) if (type !== ATTRIBUTE) throw invalid(`Invalid order_by entity: ${type}`);
  if (!parsed.some((p) => p.key === "experiment_id")) parsed.push({ type: ATTRIBUTE, key: "experiment_id", ascending: false });
  return join(parsed.map(({ key, ascending }) => sql`${COLUMNS[key]!} ${raw(ascending ? "ASC" : "DESC")}`), ", ");
}
