// search-runs: SearchUtils (utils/search_utils.py) for the grammar runs use, and
// sqlalchemy_store.py's _get_sqlalchemy_filter_clauses / _get_orderby_clauses for what the
// parsed clauses mean in SQL. The shared machinery (sqlparse, IN joining, values, order_by
// strings, page tokens) is utils.ts; this file holds only what is specific to runs.
//
// MLflow joins a filtered subquery per metric/param/tag/run-name clause and SELECT DISTINCTs
// the result; each of those tables has at most one row per (run, key), so an EXISTS is the
// same condition without the DISTINCT. Datasets can match a run several times: EXISTS again.
import { MlflowError } from "../errors";
import type { Dialect } from "../store/db";
import { type Fragment, join, raw, sql } from "../store/sql";
import { PyTuple, pyRepr } from "../python/builtins";
import type { Token } from "./sqlparse";
import { T } from "./sqlparse";
import { compare, sqlInteger } from "./experiments";
import { ATTRIBUTE, type Clause, getValue, invalid, joinInComparisonTokens, NUMERIC_VALUE_TYPES, parseFilterStatement, parseListFromSqlToken, parseOrderByString, STRING_VALUE_TYPES, stripQuotes, TAG, trimBackticks, validateComparison } from "./utils";

export const METRIC = "metric";
export const PARAM = "parameter";
export const DATASET = "dataset";
const IDENTIFIERS = [METRIC, PARAM, TAG, ATTRIBUTE, DATASET];
const ALIASES: Record<string, string> = {
  metric: METRIC, metrics: METRIC,
  parameter: PARAM, parameters: PARAM, param: PARAM, params: PARAM,
  tag: TAG, tags: TAG,
  attribute: ATTRIBUTE, attr: ATTRIBUTE, attributes: ATTRIBUTE, run: ATTRIBUTE,
  dataset: DATASET, datasets: DATASET,
};

const NUMERIC_ATTRIBUTES = new Set(["start_time", "end_time", "created", "Created"]);
const SEARCH_KEYS = new Set(["run_id", "run_name", "status", "artifact_uri", "user_id", "start_time", "end_time", "created", "Created", "run name", "Run name", "Run Name"]);
const ORDER_BY_KEYS = new Set(["run_id", "run_name", "status", "artifact_uri", "user_id", "start_time", "end_time", "created", "Created"]);
const DATASET_KEYS = new Set(["name", "digest", "context"]);
const METRIC_COMPARATORS = new Set([">", ">=", "!=", "=", "<", "<="]);
const PARAM_TAG_COMPARATORS = new Set(["!=", "=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"]);
const STRING_COMPARATORS = new Set(["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"]);

// MLflow prints these Python sets in its messages; their order changes from process to
// process (hash randomisation). These are one order the real server printed.
const REPR = {
  searchKeys: "{'created', 'Run Name', 'run_name', 'Created', 'status', 'artifact_uri', 'start_time', 'run_id', 'Run name', 'run name', 'user_id', 'end_time'}",
  orderByKeys: "{'created', 'run_name', 'Created', 'status', 'artifact_uri', 'start_time', 'run_id', 'user_id', 'end_time'}",
  datasetKeys: "{'name', 'digest', 'context'}",
  metric: "{'<=', '>', '=', '>=', '<', '!='}",
  paramTag: "{'LIKE', 'IS NOT NULL', '=', '!=', 'ILIKE', 'IS NULL'}",
  string: "{'LIKE', '=', '!=', 'IN', 'NOT IN', 'ILIKE'}",
};

const RULES = { numericAttributes: NUMERIC_ATTRIBUTES, listKeys: ["run_id"] };

/** SearchUtils.translate_key_alias */
export function translateKeyAlias(key: string): string {
  if (key === "created" || key === "Created") return "start_time";
  if (key === "run name" || key === "Run name" || key === "Run Name") return "run_name";
  return key;
}

/** SearchUtils._get_identifier (with _valid_entity_type) */
function getIdentifier(identifier: string, validAttributes: ReadonlySet<string>, keysRepr: string): { type: string; key: string } {
  const dot = identifier.indexOf(".");
  let entity = ATTRIBUTE;
  let key = identifier;
  if (dot >= 0) {
    entity = trimBackticks(identifier.slice(0, dot));
    key = identifier.slice(dot + 1);
    if (!(entity in ALIASES)) throw invalid(`Invalid entity type '${entity}'. Valid values are ${pyRepr(IDENTIFIERS)}`);
  }
  const type = ALIASES[entity]!;
  key = trimBackticks(stripQuotes(key));
  if (type === ATTRIBUTE && !validAttributes.has(key)) throw invalid(`Invalid attribute key '${key}' specified. Valid keys are '${keysRepr}'`);
  if (type === DATASET && !DATASET_KEYS.has(key)) throw invalid(`Invalid dataset key '${key}' specified. Valid keys are '${REPR.datasetKeys}'`);
  return { type, key };
}

/** SearchUtils._get_value: metrics and datasets here, the rest in utils.getValue. */
function getRunValue(type: string, key: string, token: Token) {
  const stringy = (token.ttype !== null && STRING_VALUE_TYPES.includes(token.ttype as any)) || token.is("Identifier");
  if (type === METRIC) {
    if (token.ttype === null || !NUMERIC_VALUE_TYPES.includes(token.ttype as any)) throw invalid(`Expected numeric value type for metric. Found ${token.value}`);
    return token.value; // float() later, in the filter clauses
  }
  if (type === DATASET) {
    if (stringy) return stripQuotes(token.value, true);
    if (token.is("Parenthesis")) return parseListFromSqlToken(token);
    throw invalid(`Expected a quoted string value for dataset attributes. Got value ${token.value}`);
  }
  return getValue(type, key, token, RULES);
}

/** SearchUtils._get_comparison */
function getComparison(comparison: Token & { tokens: Token[] }): Clause {
  const tokens = comparison.tokens.filter((t) => !t.isWhitespace);
  validateComparison(tokens);
  if (tokens.length === 2) {
    const id = getIdentifier(tokens[0]!.value, SEARCH_KEYS, REPR.searchKeys);
    if (id.type !== TAG && id.type !== PARAM) {
      throw invalid(`IS NULL / IS NOT NULL is only supported for tags and params, not for '${id.type}' '${id.key}'`);
    }
    return { ...id, comparator: tokens[1]!.value.toUpperCase(), value: null };
  }
  const [left, comparator, right] = tokens as [Token, Token, Token];
  const id = getIdentifier(left.value, SEARCH_KEYS, REPR.searchKeys);
  return { ...id, comparator: comparator.value, value: getRunValue(id.type, id.key, right) };
}

/** SearchUtils.parse_search_filter: the AND-ed clauses of a runs filter string. */
export function parseRunFilter(filter: string): Clause[] {
  if (!filter) return [];
  const tokens = joinInComparisonTokens(parseFilterStatement(filter).tokens);
  const invalids = tokens.filter((t) => !(t.is("Comparison") || t.isWhitespace || t.match(T.Keyword, ["AND"])));
  if (invalids.length > 0) throw invalid(`Invalid clause(s) in filter string: ${invalids.map((t) => `'${t}'`).join(", ")}`);
  return tokens.filter((t) => t.is("Comparison")).map((t) => getComparison(t as Token & { tokens: Token[] }));
}

/** SearchUtils.parse_order_by_for_search_runs */
export function parseRunOrderBy(orderBy: string): { type: string; key: string; ascending: boolean } {
  const [value, ascending] = parseOrderByString(orderBy);
  return { ...getIdentifier(value.trim(), ORDER_BY_KEYS, REPR.orderByKeys), ascending };
}

// ---- the comparator checks of SearchUtils.is_* ------------------------------------------------

function checkComparator(type: string, key: string, comparator: string): void {
  if (type === ATTRIBUTE && !NUMERIC_ATTRIBUTES.has(key)) {
    if (!STRING_COMPARATORS.has(comparator)) throw invalid(`Invalid comparator '${comparator}' not one of '${REPR.string}'`);
  } else if (type === ATTRIBUTE) {
    // MLflow's message names the string comparators here, and misses its closing quote
    if (!METRIC_COMPARATORS.has(comparator)) throw invalid(`Invalid comparator '${comparator}' not one of '${REPR.string}`);
  } else if (type === METRIC) {
    if (!METRIC_COMPARATORS.has(comparator)) throw invalid(`Invalid comparator '${comparator}' not one of '${REPR.metric}`);
  } else if (type === PARAM) {
    if (!PARAM_TAG_COMPARATORS.has(comparator)) throw invalid(`Invalid comparator '${comparator}' not one of '${REPR.paramTag}'`);
  } else if (type === TAG) {
    if (!PARAM_TAG_COMPARATORS.has(comparator)) throw invalid(`Invalid comparator '${comparator}' not one of '${REPR.paramTag}`);
  } else if (!STRING_COMPARATORS.has(comparator)) {
    throw invalid(`Invalid comparator '${comparator}' not one of '${REPR.string}`);
  }
}

const COLUMNS: Record<string, string> = {
  run_id: "runs.run_uuid", run_name: "runs.name", status: "runs.status", artifact_uri: "runs.artifact_uri",
  user_id: "runs.user_id", start_time: "runs.start_time", end_time: "runs.end_time",
};
const TABLES: Record<string, string> = { [METRIC]: "latest_metrics", [PARAM]: "params", [TAG]: "tags" };

// ---- order_by --------------------------------------------------------------------------------

export interface OrderBySql {
  /** LEFT JOINs bringing each metric/param/tag sort key next to its run. */
  joins: Fragment[];
  orderBy: Fragment;
  /** How many parameters MLflow's statement binds for them (CASE literals, join keys). */
  selectParams: number;
  joinParams: number;
}

/**
 * _get_orderby_clauses: per clause a CASE that sorts missing values last (and, for metrics,
 * NaN before missing), then the value; start_time DESC unless sorted on, then run_uuid.
 */
export function runOrderBySql(orderBy: readonly string[], dialect: Dialect): OrderBySql {
  const joins: Fragment[] = [];
  const terms: Fragment[] = [];
  const seen = new Set<string>();
  let selectParams = 0;
  orderBy.forEach((clause, i) => {
    const parsed = parseRunOrderBy(clause);
    const key = translateKeyAlias(parsed.key);
    const dir = raw(parsed.ascending ? "" : " DESC");
    if (parsed.type === ATTRIBUTE) {
      const column = raw(COLUMNS[key]!);
      terms.push(sql`CASE WHEN ${column} IS NULL THEN 1 ELSE 0 END`, sql`${column}${dir}`);
      selectParams += 2;
    } else {
      const table = TABLES[parsed.type];
      if (!table) throw invalid(`Invalid identifier type '${parsed.type}'`);
      const alias = raw(`order_${i + 1}`);
      joins.push(sql`LEFT OUTER JOIN ${raw(table)} AS ${alias} ON ${alias}.run_uuid = runs.run_uuid AND ${alias}.key = ${key}`);
      const isNan = raw(dialect === "sqlite" ? "1" : "true");
      terms.push(
        parsed.type === METRIC
          ? sql`CASE WHEN ${alias}.is_nan = ${isNan} THEN 1 WHEN ${alias}.value IS NULL THEN 2 ELSE 0 END`
          : sql`CASE WHEN ${alias}.value IS NULL THEN 1 ELSE 0 END`,
        sql`${alias}.value${dir}`,
      );
      selectParams += parsed.type === METRIC ? 3 : 2;
    }
    const id = `${parsed.type}\u0000${key}`;
    // MlflowException's default code: INTERNAL_ERROR
    if (seen.has(id)) throw new MlflowError(`\`order_by\` contains duplicate fields: ${pyRepr([...orderBy])}`, "INTERNAL_ERROR");
    seen.add(id);
  });
  if (!seen.has(`${ATTRIBUTE}\u0000start_time`)) terms.push(raw("runs.start_time DESC"));
  terms.push(raw("runs.run_uuid"));
  return { joins, orderBy: join(terms, ", "), selectParams, joinParams: joins.length };
}

// ---- filters ---------------------------------------------------------------------------------

/** Where MLflow's statement binds its parameters, for the driver errors that name a position. */
export interface ParamLayout {
  /** Parameters before the filter joins: the order_by CASE literals. */
  selectParams: number;
  /** The sort-key joins' parameters, bound after the filter joins. */
  sortJoinParams: number;
  /** experiment_id IN (...) and lifecycle_stage IN (...), the first WHERE parameters. */
  experimentIds: number;
  stages: number;
}

export interface RunFilterSql {
  conditions: Fragment[];
  /** Binding errors and where MLflow's driver meets them (sqlite3 binds in order). */
  bindErrors: { position: number; error: MlflowError }[];
  /** The position of the first experiment id parameter. */
  experimentIdsAt: number;
  /**
   * SQLite: an equality clause the page query may read first (`FROM <table> AS driver CROSS
   * JOIN runs`, rows with `key` matching `on`) instead of testing `exists` per run. It is not
   * among `conditions`: the store adds one form or the other.
   */
  driver?: { table: string; key: string; on: Fragment; exists: Fragment };
}

/** _get_sqlalchemy_filter_clauses, comparator checks in MLflow's order, as EXISTS conditions. */
export function runFilterSql(clauses: Clause[], dialect: Dialect, layout: ParamLayout): RunFilterSql {
  const bindErrors: RunFilterSql["bindErrors"] = [];
  // MLflow binds: the joined subqueries (run name, metric/param/tag values), then datasets,
  // then sort keys; then WHERE: experiments, stages, attribute filters and IS [NOT] NULL.
  const kinds = clauses.map((c) => {
    const key = translateKeyAlias(c.key);
    const comparator = c.comparator.toUpperCase();
    checkComparator(c.type, key, comparator);
    if (c.type === DATASET) return "dataset";
    if (c.type === ATTRIBUTE) return key === "run_name" ? "join" : "where";
    return comparator.startsWith("IS ") ? "where" : "join";
  });
  const count = (c: Clause) => (c.value instanceof PyTuple && c.comparator.toUpperCase().includes("IN") ? c.value.items.length : 1);
  const positions: number[] = [];
  let next = layout.selectParams + 1;
  clauses.forEach((c, i) => {
    if (kinds[i] === "join") (positions[i] = next + 1), (next += 2); // key, then value
  });
  clauses.forEach((c, i) => {
    if (kinds[i] !== "dataset") return;
    const keyParam = c.key === "context" ? 1 : 0;
    positions[i] = next + keyParam;
    next += keyParam + count(c);
  });
  next += layout.sortJoinParams;
  const experimentIdsAt = next;
  next += layout.experimentIds + layout.stages;
  clauses.forEach((c, i) => {
    if (kinds[i] === "where") (positions[i] = next), (next += count(c));
  });

  const value = (c: Clause, i: number): unknown => {
    const v = c.value;
    if (v instanceof PyTuple) {
      if (c.comparator.toUpperCase().includes("IN")) return v.items;
      // A tuple compared with =, LIKE...: sqlite3 cannot bind it; psycopg2 renders `('a', 'b')`,
      // which PostgreSQL compares as a row (an error unless it has one item).
      if (dialect === "sqlite") {
        bindErrors.push({ position: positions[i]!, error: new MlflowError(`(sqlite3.ProgrammingError) Error binding parameter ${positions[i]}: type 'tuple' is not supported`, "BAD_REQUEST") });
      }
      return sql`(${join(v.items.map((x) => sql`${x}`), ", ")})`;
    }
    if (typeof v === "bigint") {
      try {
        return sqlInteger(v, dialect);
      } catch (e) {
        bindErrors.push({ position: positions[i]!, error: e as MlflowError });
        return 0;
      }
    }
    // A float against a BIGINT column: psycopg2 sends a numeric literal; a typed parameter
    // would be read as bigint and fail.
    if (typeof v === "number" && dialect === "postgres") return sql`CAST(${v} AS double precision)`;
    return v;
  };

  // A child-table clause: its condition on a row of `table` (named `alias`) of the run.
  const child = (c: Clause, i: number): { table: string; key: string; on: (alias: string) => Fragment } | undefined => {
    const key = translateKeyAlias(c.key);
    const comparator = c.comparator.toUpperCase();
    if (comparator.startsWith("IS ") || c.type === DATASET || (c.type === ATTRIBUTE && key !== "run_name")) return undefined;
    const v = value(c, i);
    // translate_key_alias applies to every key, so `metrics.created` is the metric "start_time".
    // run_name: the runs.name column is empty for runs logged by MLflow <= 1.29, the tag is the name.
    const keyIs = (a: string) => (c.type === ATTRIBUTE ? raw(`${a}.key = 'mlflow.runName'`) : sql`${raw(a)}.key = ${key}`);
    const rowKey = c.type === ATTRIBUTE ? "mlflow.runName" : key;
    if (c.type !== METRIC) {
      return { table: c.type === PARAM ? "params" : "tags", key: rowKey, on: (a) => sql`${keyIs(a)} AND ${compare(raw(`${a}.value`), comparator, v, dialect)}` };
    }
    // NaN is stored as value 0 with is_nan: it satisfies only "!=", and its 0 never matches.
    const number = Number(c.value as string); // float(value)
    const [nan, notNan] = dialect === "sqlite" ? ["1", "0"] : ["true", "false"];
    return {
      table: "latest_metrics",
      key: rowKey,
      on: (a) => {
        const bound = compare(raw(`${a}.value`), comparator, number, dialect);
        return comparator === "!=" ? sql`${keyIs(a)} AND (${bound} OR ${raw(a)}.is_nan = ${raw(nan)})` : sql`${keyIs(a)} AND ${bound} AND ${raw(a)}.is_nan = ${raw(notNan)}`;
      },
    };
  };
  const children = clauses.map(child);

  const exists = (found: NonNullable<ReturnType<typeof child>>) =>
    sql`EXISTS (SELECT 1 FROM ${raw(found.table)} WHERE ${raw(found.table)}.run_uuid = runs.run_uuid AND ${found.on(found.table)})`;
  // SQLite may read an equality on a param, tag or run name first (the store decides, see
  // run-search.ts); PostgreSQL plans the EXISTS semi-joins well itself.
  const drivingAt = dialect === "sqlite"
    ? clauses.findIndex((c, i) => children[i] && c.type !== METRIC && c.comparator === "=" && !(c.value instanceof PyTuple))
    : -1;
  const found = children[drivingAt];
  const driver = found ? { table: found.table, key: found.key, on: found.on("driver"), exists: exists(found) } : undefined;

  const conditions = clauses.flatMap((c, i): Fragment[] => {
    if (i === drivingAt) return [];
    const key = translateKeyAlias(c.key);
    const comparator = c.comparator.toUpperCase();
    if (children[i]) return [exists(children[i]!)];
    const cmp = (column: string) => compare(raw(column), comparator, value(c, i), dialect);
    if (c.type === ATTRIBUTE) return [cmp(COLUMNS[key]!)];
    if (c.type === DATASET) {
      const context = key === "context"
        ? sql` JOIN input_tags ON input_tags.input_uuid = inputs.input_uuid AND input_tags.name = 'mlflow.data.context' AND ${cmp("input_tags.value")}`
        : raw("");
      const where = key === "context" ? raw("") : sql` AND ${cmp(`datasets.${key}`)}`;
      return [sql`EXISTS (SELECT 1 FROM datasets JOIN inputs ON inputs.source_id = datasets.dataset_uuid${context}
        WHERE inputs.destination_id = runs.run_uuid${where})`];
    }
    // IS NULL / IS NOT NULL on a param or tag
    const table = raw(TABLES[c.type]!);
    const present = sql`EXISTS (SELECT 1 FROM ${table} WHERE ${table}.run_uuid = runs.run_uuid AND ${table}.key = ${key})`;
    return [comparator === "IS NULL" ? sql`NOT ${present}` : present];
  });
  return { conditions, driver, bindErrors, experimentIdsAt };
}
