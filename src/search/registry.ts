// search-registered-models and search-model-versions: SearchModelUtils and SearchModelVersionUtils
// (utils/search_utils.py) for the grammar, and the model registry's sqlalchemy_store.py
// (_get_search_registered_model_filter_query, _get_search_model_versions_filter_clauses,
// _update_query_to_exclude_prompts, the _parse_search_*_order_by methods) for what the clauses
// mean in SQL. The sqlparse port and the shared SearchUtils pieces come from ./utils.
import { MlflowError } from "../errors";
import { PyError, pyFloatRepr, pyInt, pyRepr, pyStrRepr, PyTuple, type PyValue } from "../python/builtins";
import type { Dialect } from "../store/db";
import { type Fragment, join, list, raw, sql } from "../store/sql";
import { compare, getIdentifier as experimentIdentifier, sqlInteger } from "./experiments";
import type { Token } from "./sqlparse";
import { T } from "./sqlparse";
import {
  ATTRIBUTE, type Clause, invalid, joinInComparisonTokens, NUMERIC_VALUE_TYPES, parseFilterStatement, parseListFromSqlToken,
  parseOrderByString, parseStartOffset, STRING_VALUE_TYPES, stripQuotes, TAG, trimBackticks, validateComparison,
} from "./utils";

export const IS_PROMPT_TAG_KEY = "mlflow.prompt.is_prompt";

/**
 * The registry store parses filters, order_by clauses and page tokens before it opens a session,
 * so a Python exception there (ast.literal_eval's ValueError, shlex's, a token that is not a
 * dict) is not made an INTERNAL_ERROR as the tracking store's session does: it escapes the
 * handler, and Flask answers its 500 page. The shared parsers report such exceptions as
 * INTERNAL_ERROR (the only use they make of that code): turn them back into the exception.
 */
function uncaught<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof MlflowError && e.code === "INTERNAL_ERROR") throw new PyError("ValueError", e.message);
    throw e;
  }
}

/** SearchUtils.parse_start_offset_from_page_token, as the registry store calls it. */
export const registryStartOffset = (pageToken: string | undefined) => uncaught(() => parseStartOffset(pageToken));

// MLflow prints these Python sets in its messages; a set's order is per-process in Python
// (hash randomisation). These are orders the real server printed.
const MODEL_KEYS_REPR = "{'name'}";
const VERSION_KEYS_REPR = "{'version_number', 'run_id', 'source_path', 'name'}";
const VERSION_NUMERIC_REPR = "{'creation_timestamp', 'last_updated_timestamp', 'version_number'}";
const VERSION_ORDER_KEYS_REPR = "{'version_number', 'creation_timestamp', 'last_updated_timestamp', 'name'}";
const MODEL_ORDER_KEYS_REPR = "{'timestamp', 'name'}";

interface Grammar {
  what: "registered model" | "model version";
  attributes: ReadonlySet<string>;
  attributesRepr: string;
  listKeys: readonly string[];
  /** Keys whose numeric literals are accepted (model versions only). */
  numeric?: ReadonlySet<string>;
}

const MODELS: Grammar = { what: "registered model", attributes: new Set(["name"]), attributesRepr: MODEL_KEYS_REPR, listKeys: ["name"] };
const VERSIONS: Grammar = {
  what: "model version",
  attributes: new Set(["name", "version_number", "run_id", "source_path"]),
  attributesRepr: VERSION_KEYS_REPR,
  listKeys: ["name", "run_id"],
  numeric: new Set(["version_number", "creation_timestamp", "last_updated_timestamp"]),
};

/** _get_model_search_identifier / _get_model_version_search_identifier: the key is checked before its quotes go. */
function getIdentifier(identifier: string, g: Grammar): { type: string; key: string } {
  const dot = identifier.indexOf(".");
  let type = ATTRIBUTE;
  let key = identifier;
  if (dot >= 0) {
    const entity = identifier.slice(0, dot);
    key = identifier.slice(dot + 1);
    if (!["attribute", "tag", "tags"].includes(entity)) {
      throw invalid(`Invalid entity type '${entity}'. Valid entity types are ('attribute', 'tag', 'tags')`);
    }
    type = entity === "attribute" ? ATTRIBUTE : TAG;
  }
  if (type === ATTRIBUTE && !g.attributes.has(key)) throw invalid(`Invalid attribute key '${key}' specified. Valid keys are '${g.attributesRepr}'`);
  return { type, key: trimBackticks(stripQuotes(key)) };
}

/** SearchModelUtils._get_value / SearchModelVersionUtils._get_value */
function getValue(type: string, key: string, token: Token, g: Grammar): PyValue {
  const stringy = (token.ttype !== null && STRING_VALUE_TYPES.includes(token.ttype as any)) || token.is("Identifier");
  if (type === TAG) {
    if (stringy) return stripQuotes(token.value, true);
    throw invalid(`Expected a quoted string value for ${type} (e.g. 'my-value'). Got value ${token.value}`);
  }
  if (stringy) return stripQuotes(token.value, true);
  if (token.is("Parenthesis")) {
    if (!g.listKeys.includes(key)) {
      throw invalid(`Only ${pyRepr([...g.listKeys].sort())} attributes support comparison with a list of quoted string values.`);
    }
    return uncaught(() => parseListFromSqlToken(token));
  }
  if (g.numeric && token.ttype !== null && NUMERIC_VALUE_TYPES.includes(token.ttype as any)) {
    if (!g.numeric.has(key)) throw invalid(`Only the '${VERSION_NUMERIC_REPR}' attributes support comparison with numeric values.`);
    return token.ttype === T.Integer ? BigInt(token.value) : Number(token.value);
  }
  throw invalid(`Expected a quoted string value or a list of quoted string values for attributes. Got value ${token.value}`);
}

function parse(filter: string, g: Grammar): Clause[] {
  if (!filter) return [];
  const tokens = joinInComparisonTokens(parseFilterStatement(filter).tokens);
  const invalids = tokens.filter((t) => !(t.is("Comparison") || t.isWhitespace || t.match("Keyword", ["AND"])));
  if (invalids.length > 0) throw invalid(`Invalid clause(s) in filter string: ${invalids.map(String).join(", ")}`);
  return tokens
    .filter((t) => t.is("Comparison"))
    .map((comparison) => {
      const stripped = (comparison as Token & { tokens: Token[] }).tokens.filter((t) => !t.isWhitespace);
      validateComparison(stripped);
      if (stripped.length === 2) throw invalid(`IS NULL / IS NOT NULL is not supported for ${g.what} search.`);
      const [left, comparator, right] = stripped as [Token, Token, Token];
      const id = getIdentifier(left.value, g);
      return { ...id, comparator: comparator.value.toUpperCase(), value: getValue(id.type, id.key, right, g) };
    });
}

/** SearchModelUtils.parse_search_filter */
export const parseModelFilter = (filter: string) => parse(filter, MODELS);
/** SearchModelVersionUtils.parse_search_filter */
export const parseVersionFilter = (filter: string) => parse(filter, VERSIONS);

// ---- order_by -----------------------------------------------------------------------------------

export interface OrderBy {
  column: string;
  ascending: boolean;
}

const duplicate = (orderBy: readonly string[]) => new MlflowError(`\`order_by\` contains duplicate fields: ${pyRepr([...orderBy])}`, "INTERNAL_ERROR");

/** _parse_search_registered_models_order_by (with SearchUtils.parse_order_by_for_search_registered_models). */
export function modelOrderBy(orderBy: readonly string[]): OrderBy[] {
  const clauses: OrderBy[] = [];
  for (const clause of orderBy) {
    const [value, ascending] = uncaught(() => parseOrderByString(clause));
    const key = value.trim();
    if (!["timestamp", "last_updated_timestamp", "name"].includes(key)) {
      throw invalid(`Invalid order by key '${key}' specified. Valid keys are '${MODEL_ORDER_KEYS_REPR}'`);
    }
    const column = key === "name" ? "name" : "last_updated_time";
    if (clauses.some((c) => c.column === column)) throw duplicate(orderBy);
    clauses.push({ column, ascending });
  }
  if (!clauses.some((c) => c.column === "name")) clauses.push({ column: "name", ascending: true });
  return clauses;
}

const VERSION_ORDER_KEYS = new Set(["name", "version_number", "creation_timestamp", "last_updated_timestamp"]);
const VERSION_COLUMNS: Record<string, string> = {
  name: "name", version_number: "version", creation_timestamp: "creation_time", last_updated_timestamp: "last_updated_time",
};

/** _parse_search_model_versions_order_by, with SearchModelVersionUtils.parse_order_by_for_search_model_versions. */
export function versionOrderBy(requested: readonly string[]): OrderBy[] {
  const orderBy = requested.length ? requested : ["last_updated_timestamp DESC", "name ASC", "version_number DESC"];
  const clauses: OrderBy[] = [];
  for (const clause of orderBy) {
    const [value, ascending] = uncaught(() => parseOrderByString(clause));
    // SearchExperimentsUtils._get_identifier; the entity type is then ignored (tags.name is name)
    const { key } = experimentIdentifier(value.trim(), VERSION_ORDER_KEYS, VERSION_ORDER_KEYS_REPR);
    if (!VERSION_ORDER_KEYS.has(key)) throw invalid(`Invalid order by key '${key}' specified. Valid keys are ${VERSION_ORDER_KEYS_REPR}`);
    const column = VERSION_COLUMNS[key]!;
    if (clauses.some((c) => c.column === column)) throw duplicate(orderBy);
    clauses.push({ column, ascending });
  }
  if (!clauses.some((c) => c.column === "name")) clauses.push({ column: "name", ascending: true });
  if (!clauses.some((c) => c.column === "version")) clauses.push({ column: "version", ascending: false });
  return clauses;
}

export function orderBySql(table: string, clauses: OrderBy[]): Fragment {
  return join(clauses.map((c) => raw(`${table}.${c.column} ${c.ascending ? "ASC" : "DESC"}`)), ", ");
}

// ---- filters as SQL -----------------------------------------------------------------------------

export interface RegistryFilterSql {
  conditions: Fragment[];
  /** A binding error the driver raises when MLflow executes the query (thrown by the caller then). */
  bindError?: MlflowError;
}

const STRING_COMPARATORS = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];
const TAG_COMPARATORS = ["=", "!=", "LIKE", "ILIKE"];
const NUMERIC_COMPARATORS = [">", ">=", "!=", "=", "<", "<="];

/** _is_querying_prompt: the first is_prompt tag clause decides. */
export function isQueryingPrompt(clauses: Clause[]): boolean {
  const c = clauses.find((f) => f.type === TAG && f.key === IS_PROMPT_TAG_KEY);
  if (!c) return false;
  const v = String(c.value).toLowerCase();
  return (c.comparator === "=" && v === "true") || (c.comparator === "!=" && v === "false");
}

interface Entity {
  table: "registered_models" | "model_versions";
  tagTable: "registered_model_tags" | "model_version_tags";
  /** The columns a tag row joins on. */
  keys: string[];
}

const MODEL_ENTITY: Entity = { table: "registered_models", tagTable: "registered_model_tags", keys: ["workspace", "name"] };
const VERSION_ENTITY: Entity = { table: "model_versions", tagTable: "model_version_tags", keys: ["workspace", "name", "version"] };

/**
 * The attribute conditions, the prompt anti-join and the tag groups. MLflow joins a subquery of
 * tag rows matching any key's conditions, grouped per entity, HAVING count = number of keys;
 * with one row per (entity, key) that is one EXISTS per key. The prompt anti-join drops every
 * entity whose model (for versions: any version of it) has tag is_prompt = 'true'.
 */
function filterSql(clauses: Clause[], dialect: Dialect, e: Entity, attribute: (c: Clause, bind: Binder) => Fragment): RegistryFilterSql {
  const tagGroups = new Map<string, Clause[]>();
  const attributes: Fragment[] = [];
  let bindError: MlflowError | undefined;
  // SQLite names the failing parameter by its position in MLflow's statement: the prompt
  // anti-join's 3, then the tag subquery's (key, workspace, values... per key, count(?) = ?),
  // then the attribute conditions in order.
  let attributeParams = 0;
  let tupleAt: number | undefined;
  const binder: Binder = {
    dialect,
    param(n = 1) {
      attributeParams += n;
    },
    tuple(comparator, column, value) {
      attributeParams += 1;
      if (dialect === "sqlite") {
        tupleAt ??= attributeParams;
        return raw("1 = 0");
      }
      // psycopg2 inlines a tuple as (a, b): PostgreSQL compares a 1-tuple as its value and
      // refuses to compare a string with a row.
      return sql`${column} ${raw(comparator)} (${list(value.items)})`;
    },
    integer(v) {
      try {
        return sqlInteger(v, dialect);
      } catch (err) {
        bindError ??= err as MlflowError;
        return 0;
      }
    },
  };
  for (const c of clauses) {
    if (c.type === ATTRIBUTE) attributes.push(attribute(c, binder));
    else if (c.type === TAG) {
      if (!TAG_COMPARATORS.includes(c.comparator)) throw invalid(`Invalid comparator for tag: ${c.comparator}`);
      if (!tagGroups.has(c.key)) tagGroups.set(c.key, []);
      tagGroups.get(c.key)!.push(c);
    } else throw invalid(`Invalid token type: ${c.type}`);
  }
  const prompts = isQueryingPrompt(clauses);
  if (!prompts) tagGroups.delete(IS_PROMPT_TAG_KEY);
  if (tupleAt !== undefined) {
    let at = tupleAt + (prompts ? 0 : 3);
    if (tagGroups.size) at += [...tagGroups.values()].reduce((a, g) => a + 2 + g.length, 0) + 2;
    bindError ??= new MlflowError(`(sqlite3.ProgrammingError) Error binding parameter ${at}: type 'tuple' is not supported`, "BAD_REQUEST");
  }
  const conditions = [...attributes, sql`${raw(e.table)}.workspace = ${"default"}`];
  const joined = (alias: string) => raw(e.keys.map((k) => `${alias}.${k} = ${e.table}.${k}`).join(" AND "));
  if (!prompts) {
    conditions.push(sql`NOT EXISTS (SELECT 1 FROM ${raw(e.tagTable)} p
      WHERE p.workspace = ${raw(e.table)}.workspace AND p.name = ${raw(e.table)}.name
        AND p.key = ${IS_PROMPT_TAG_KEY} AND p.value = ${"true"})`);
  }
  for (const [key, group] of tagGroups) {
    const values = group.map((c) => compare(raw("t.value"), c.comparator, c.value, dialect));
    conditions.push(sql`EXISTS (SELECT 1 FROM ${raw(e.tagTable)} t WHERE ${joined("t")} AND t.key = ${key} AND ${join(values, " AND ")})`);
  }
  return { conditions, bindError };
}

interface Binder {
  dialect: Dialect;
  /** Counts a condition's bound parameters (for SQLite's binding-error position). */
  param(n?: number): void;
  /** A tuple compared without IN: SQLite cannot bind it; PostgreSQL compares a row. */
  tuple(comparator: string, column: Fragment, value: PyTuple): Fragment;
  integer(v: bigint): number | bigint;
}

function stringCondition(column: Fragment, c: Clause, b: Binder): Fragment {
  const { comparator, value } = c;
  if (value instanceof PyTuple && (comparator === "IN" || comparator === "NOT IN")) {
    b.param(value.items.length);
    return compare(column, comparator, value.items, b.dialect);
  }
  if (value instanceof PyTuple) return b.tuple(comparator, column, value);
  b.param();
  return compare(column, comparator, value, b.dialect);
}

/** _get_search_registered_model_filter_query's conditions. */
export function modelFilterSql(clauses: Clause[], dialect: Dialect): RegistryFilterSql {
  return filterSql(clauses, dialect, MODEL_ENTITY, (c, b) => {
    if (c.key !== "name") throw invalid(`Invalid attribute name: ${c.key}`);
    if (!STRING_COMPARATORS.includes(c.comparator)) throw invalid(`Invalid comparator for attribute: ${c.comparator}`);
    return stringCondition(raw("registered_models.name"), c, b);
  });
}

/** _get_search_model_versions_filter_clauses' conditions. */
export function versionFilterSql(clauses: Clause[], dialect: Dialect): RegistryFilterSql {
  return filterSql(clauses, dialect, VERSION_ENTITY, (c, b) => {
    const { key, comparator } = c;
    if (!VERSIONS.attributes.has(key)) throw invalid(`Invalid attribute name: ${key}`);
    if (VERSIONS.numeric!.has(key)) {
      if (!NUMERIC_COMPARATORS.includes(comparator)) throw invalid(`Invalid comparator for attribute ${key}: ${comparator}`);
      const v = c.value;
      if (typeof v === "number") throw invalid(`Invalid value for numeric attribute '${key}': ${pyFloatRepr(v)}`);
      const n = typeof v === "bigint" ? v : typeof v === "string" ? pyInt(v) : undefined;
      if (n === undefined) throw invalid(`Invalid value for numeric attribute '${key}': ${typeof v === "string" ? pyStrRepr(v) : pyRepr(v)}`);
      b.param();
      const column = raw(`model_versions.${key === "version_number" ? "version" : key}`);
      // PostgreSQL's version is int4: compare as bigint, as psycopg2's inlined literal does.
      const bound = b.integer(n);
      return dialect === "postgres" ? sql`${column} ${raw(comparator)} CAST(${bound} AS BIGINT)` : sql`${column} ${raw(comparator)} ${bound}`;
    }
    if (!STRING_COMPARATORS.includes(comparator) || ((comparator === "IN" || comparator === "NOT IN") && key !== "run_id" && key !== "name")) {
      throw invalid(`Invalid comparator for attribute: ${comparator}`);
    }
    return stringCondition(raw(`model_versions.${key === "source_path" ? "source" : key}`), c, b);
  });
}
