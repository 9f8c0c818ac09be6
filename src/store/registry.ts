// The model registry's tables as MLflow's model-registry SqlAlchemyStore reads them: registered
// models with their tags, aliases and latest version per stage; model versions with their tags
// and aliases. Row shapes, entity → proto conversion (to_mlflow_entity + to_proto) and the
// set-based loaders shared by registered-models.ts and model-versions.ts. Child rows come back
// in the database's order (no ORDER BY), as MLflow's lazy and subquery loads see them.
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import type { Db, Dialect, Row } from "./db";
import { DEFAULT_WORKSPACE } from "./experiments";
import { type Param, reprParams, sqlalchemyError } from "./sqlalchemy-errors";
import { type Fragment, sql } from "./sql";
import { sqlInteger } from "../search/experiments";

export const WORKSPACE = DEFAULT_WORKSPACE;
export const STAGE_DELETED_INTERNAL = "Deleted_Internal";

export const MODEL_COLUMNS = sql`registered_models.name, registered_models.creation_time, registered_models.last_updated_time,
  registered_models.description, registered_models.workspace`;
export const VERSION_COLUMNS = sql`model_versions.name, model_versions.version, model_versions.creation_time,
  model_versions.last_updated_time, model_versions.description, model_versions.user_id, model_versions.current_stage,
  model_versions.source, model_versions.storage_location, model_versions.run_id, model_versions.run_link,
  model_versions.status, model_versions.status_message, model_versions.workspace`;

const num = (v: unknown) => (v === null || v === undefined ? v : Number(v)) as number;

/** ModelVersion.to_proto, fields in field-number order (message_to_json's order). */
export function versionProto(row: Row, tags: M.mlflow_ModelVersionTag[], aliases: string[]): M.mlflow_ModelVersion {
  const v: M.mlflow_ModelVersion = { name: row.name, version: String(row.version) };
  v.creation_timestamp = num(row.creation_time);
  if (row.last_updated_time !== null) v.last_updated_timestamp = num(row.last_updated_time);
  if (row.user_id !== null) v.user_id = row.user_id;
  if (row.current_stage !== null) v.current_stage = row.current_stage;
  if (row.description !== null) v.description = row.description;
  if (row.source !== null) v.source = row.source;
  if (row.run_id !== null) v.run_id = row.run_id;
  if (row.status !== null) v.status = row.status;
  if (row.status_message) v.status_message = row.status_message;
  if (tags.length) v.tags = tags;
  if (row.run_link !== null) v.run_link = row.run_link;
  if (aliases.length) v.aliases = aliases;
  return v;
}

/** RegisteredModel.to_proto */
export function modelProto(
  row: Row,
  latest: M.mlflow_ModelVersion[],
  tags: M.mlflow_RegisteredModelTag[],
  aliases: M.mlflow_RegisteredModelAlias[],
): M.mlflow_RegisteredModel {
  const m: M.mlflow_RegisteredModel = { name: row.name };
  if (row.creation_time !== null) m.creation_timestamp = num(row.creation_time);
  if (row.last_updated_time) m.last_updated_timestamp = num(row.last_updated_time);
  if (row.description) m.description = row.description;
  if (latest.length) m.latest_versions = latest;
  if (tags.length) m.tags = tags;
  if (aliases.length) m.aliases = aliases;
  return m;
}

/** A tag as the entities' dicts keep it: one per key, the last value (value None left out). */
function pushTag(list: { key?: string; value?: string }[], key: string, value: string | null): void {
  const at = list.findIndex((t) => t.key === key);
  const tag = value === null ? { key } : { key, value };
  if (at >= 0) list[at] = tag;
  else list.push(tag);
}

export const modelNotFound = (name: string) => MlflowError.notFound(`Registered Model with name=${name} not found`);
export const versionNotFound = (name: string, version: bigint | string) =>
  MlflowError.notFound(`Model Version (name=${name}, version=${version}) not found`);

// ---- set-based lookups ----------------------------------------------------------------------------

/**
 * `column IN (...)` with all values in ONE bound parameter (a JSON array). On PostgreSQL the
 * parameter is typed TEXT before the cast: typed JSONB, postgres.js would JSON-encode the text.
 */
export function among(dialect: Dialect, column: Fragment, values: readonly (string | number)[]): Fragment {
  const json = JSON.stringify(values);
  return dialect === "sqlite"
    ? sql`${column} IN (SELECT value FROM json_each(${json}))`
    : sql`${column} IN (SELECT jsonb_array_elements_text(CAST(CAST(${json} AS TEXT) AS JSONB)))`;
}

/** `(name, version) IN (...)` of (name, version) pairs, in one parameter. */
function amongVersions(dialect: Dialect, pairs: [string, number][]): Fragment {
  const json = JSON.stringify(pairs);
  return dialect === "sqlite"
    ? sql`(model_version_tags.name, model_version_tags.version) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${json}))`
    : sql`(model_version_tags.name, model_version_tags.version) IN (SELECT x->>0, (x->>1)::int FROM jsonb_array_elements(CAST(CAST(${json} AS TEXT) AS JSONB)) AS x)`;
}

export const versionKey = (name: string, version: number | bigint) => `${version} ${name}`;

/** Tags of the given versions, per versionKey. */
export async function versionTags(db: Db, pairs: [string, number][]): Promise<Map<string, M.mlflow_ModelVersionTag[]>> {
  const out = new Map<string, M.mlflow_ModelVersionTag[]>(pairs.map(([n, v]) => [versionKey(n, v), []]));
  if (!pairs.length) return out;
  const rows = await db.all(sql`
    SELECT model_version_tags.name, model_version_tags.version, model_version_tags.key, model_version_tags.value
    FROM model_version_tags
    WHERE model_version_tags.workspace = ${WORKSPACE} AND ${amongVersions(db.dialect, pairs)}`);
  for (const r of rows) {
    const list = out.get(versionKey(r.name, Number(r.version)));
    if (list) pushTag(list, r.key, r.value);
  }
  return out;
}

/** Aliases of the given models, per name: [alias, version] in the database's order. */
export async function modelAliases(db: Db, names: string[]): Promise<Map<string, [string, number][]>> {
  const out = new Map<string, [string, number][]>(names.map((n) => [n, []]));
  if (!names.length) return out;
  const rows = await db.all(sql`
    SELECT registered_model_aliases.name, registered_model_aliases.alias, registered_model_aliases.version
    FROM registered_model_aliases
    WHERE registered_model_aliases.workspace = ${WORKSPACE} AND ${among(db.dialect, sql`registered_model_aliases.name`, names)}`);
  for (const r of rows) out.get(r.name)?.push([r.alias, Number(r.version)]);
  return out;
}

/** Tags of the given models, per name. */
export async function modelTags(db: Db, names: string[]): Promise<Map<string, M.mlflow_RegisteredModelTag[]>> {
  const out = new Map<string, M.mlflow_RegisteredModelTag[]>(names.map((n) => [n, []]));
  if (!names.length) return out;
  const rows = await db.all(sql`
    SELECT registered_model_tags.name, registered_model_tags.key, registered_model_tags.value
    FROM registered_model_tags
    WHERE registered_model_tags.workspace = ${WORKSPACE} AND ${among(db.dialect, sql`registered_model_tags.name`, names)}`);
  for (const r of rows) {
    const list = out.get(r.name);
    if (list) pushTag(list, r.key, r.value);
  }
  return out;
}

/** RegisteredModel aliases as to_proto lists them: a dict by alias (the last row wins). */
export function aliasProtos(rows: [string, number][]): M.mlflow_RegisteredModelAlias[] {
  const byAlias = new Map<string, number>();
  for (const [alias, version] of rows) byAlias.set(alias, version);
  return [...byAlias].map(([alias, version]) => ({ alias, version: String(version) }));
}

/** _populate_model_version_aliases: the model's aliases that point at the version. */
export const aliasesOf = (rows: [string, number][], version: number) => rows.filter(([, v]) => v === version).map(([a]) => a);

/** Version rows as protos, with their tags (one query) and the given aliases. */
export async function versionProtos(db: Db, rows: Row[], aliases: (row: Row) => string[] = () => []): Promise<M.mlflow_ModelVersion[]> {
  const tags = await versionTags(db, rows.map((r) => [r.name, Number(r.version)]));
  return rows.map((r) => versionProto(r, tags.get(versionKey(r.name, Number(r.version))) ?? [], aliases(r)));
}

/**
 * SqlRegisteredModel.to_mlflow_entity() without preloaded versions: the model's versions in the
 * database's order, the highest version per stage kept in the order stages first appear.
 */
export function latestPerStage(versions: Row[]): Row[] {
  const latest = new Map<string, Row>();
  for (const v of versions) {
    const stage = v.current_stage;
    if (stage === STAGE_DELETED_INTERNAL) continue;
    const seen = latest.get(stage);
    if (!seen || Number(seen.version) < Number(v.version)) latest.set(stage, v);
  }
  return [...latest.values()];
}

/** The model row (or undefined). */
export async function modelRow(db: Db, name: string): Promise<Row | undefined> {
  return db.one(sql`
    SELECT ${MODEL_COLUMNS} FROM registered_models
    WHERE registered_models.workspace = ${WORKSPACE} AND registered_models.name = ${name}`);
}

export async function mustModel(db: Db, name: string): Promise<Row> {
  const row = await modelRow(db, name);
  if (!row) throw modelNotFound(name);
  return row;
}

/** All versions of a model (the lazy `model_versions` relationship): no ORDER BY. */
export async function allVersions(db: Db, name: string): Promise<Row[]> {
  return db.all(sql`
    SELECT ${VERSION_COLUMNS} FROM model_versions
    WHERE model_versions.workspace = ${WORKSPACE} AND model_versions.name = ${name}`);
}

/** get_registered_model's entity: tags, aliases, latest versions (with tags, no aliases). */
export async function fullModel(db: Db, row: Row): Promise<M.mlflow_RegisteredModel> {
  const versions = latestPerStage(await allVersions(db, row.name));
  const [latest, tags, aliases] = [await versionProtos(db, versions), await modelTags(db, [row.name]), await modelAliases(db, [row.name])];
  return modelProto(row, latest, tags.get(row.name)!, aliasProtos(aliases.get(row.name)!));
}

/** A version that is not soft-deleted, or undefined. */
export async function versionRow(db: Db, name: string, version: number | bigint): Promise<Row | undefined> {
  return db.one(sql`
    SELECT ${VERSION_COLUMNS} FROM model_versions
    WHERE model_versions.workspace = ${WORKSPACE} AND model_versions.name = ${name} AND model_versions.version = ${version}
      AND model_versions.current_stage != ${STAGE_DELETED_INTERNAL}`);
}

/** A version with its tags and the model's aliases that point at it. */
export async function versionWithAliases(db: Db, row: Row): Promise<M.mlflow_ModelVersion> {
  const aliases = (await modelAliases(db, [row.name])).get(row.name)!;
  const [v] = await versionProtos(db, [row], (r) => aliasesOf(aliases, Number(r.version)));
  return v!;
}

// ---- PostgreSQL's VARCHAR limits ------------------------------------------------------------------
// SQLite does not enforce them; on PostgreSQL MLflow's flush fails with psycopg2's
// StringDataRightTruncation, answered as BAD_REQUEST with str() of SQLAlchemy's DataError: the
// driver's error, the statement the ORM issued and its parameters (rebuilt here).

export const AUTOFLUSH =
  "(raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is occurring prematurely)\n";

/**
 * The first value (in the statement's column order) over its column's limit, as MLflow's error;
 * undefined on SQLite or when every value fits.
 */
export function tooLong(
  dialect: Dialect,
  checks: [value: string | null | undefined, limit: number][],
  statement: () => [string, string],
  autoflush = false,
): MlflowError | undefined {
  if (dialect !== "postgres") return undefined;
  const hit = checks.find(([v, limit]) => v != null && [...v].length > limit);
  if (!hit) return undefined;
  const driver = `(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(${hit[1]})\n`;
  return new MlflowError((autoflush ? AUTOFLUSH : "") + sqlalchemyError(driver, statement(), "9h9h"), "BAD_REQUEST");
}

/** An INSERT as SQLAlchemy renders it for psycopg2: one row, or insertmanyvalues' numbered keys. */
export function pgInsert(table: string, columns: string[], rows: Param[][], manyKeyOrder = columns): [string, string] {
  if (rows.length === 1) {
    return [
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => `%(${c})s`).join(", ")})`,
      reprParams(columns.map((c, i) => [c, rows[0]![i]!] as [string, Param])),
    ];
  }
  const values = rows.map((_, r) => `(${columns.map((c) => `%(${c}__${r})s`).join(", ")})`).join(", ");
  const params = rows.flatMap((row, r) => manyKeyOrder.map((c) => [`${c}__${r}`, row[columns.indexOf(c)]!] as [string, Param]));
  return [`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values}`, reprParams(params)];
}

/** An UPDATE by primary key as SQLAlchemy renders it for psycopg2. */
export function pgUpdate(table: string, sets: [string, Param][], where: [string, Param][]): [string, string] {
  return [
    `UPDATE ${table} SET ${sets.map(([c]) => `${c}=%(${c})s`).join(", ")} WHERE ${where.map(([c]) => `${table}.${c} = %(${table}_${c})s`).join(" AND ")}`,
    reprParams([...sets, ...where.map(([c, v]) => [`${table}_${c}`, v] as [string, Param])]),
  ];
}

// ---- shared by registered-models.ts and model-versions.ts -------------------------------------------

export interface Tag {
  key: string;
  value: string;
}

/** A version number as a parameter: PostgreSQL's int4 column can hold no number outside int4. */
export function versionParam(v: bigint, dialect: Dialect): number | bigint | undefined {
  if (dialect === "postgres" && (v > 2147483647n || v < -2147483648n)) return undefined;
  return sqlInteger(v, dialect);
}

const STAGES = ["None", "Staging", "Production", "Archived"];

/** get_canonical_stage */
export function canonicalStage(stage: string): string {
  const found = STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (!found) throw MlflowError.invalid(`Invalid Model Version stage: ${stage}. Value must be one of ${STAGES.join(", ")}.`);
  return found;
}

/** Python's seq[:n]. */
export function pySlice<T>(rows: T[], n: number): T[] {
  return rows.slice(0, n < 0 ? Math.max(0, rows.length + n) : n);
}

/** LIMIT/OFFSET as SQLAlchemy renders them: SQLite reads a negative LIMIT as none and a negative OFFSET as 0. */
export function limitOffset(limit: number, offset: number | undefined): Fragment {
  return offset === undefined ? sql`LIMIT ${limit}` : sql`LIMIT ${limit} OFFSET ${offset}`;
}

/** PostgreSQL refuses a negative LIMIT or OFFSET (MLflow: BAD_REQUEST with psycopg2's error). */
export function checkLimits(dialect: Dialect, limit: number, offset: number): void {
  if (dialect !== "postgres") return;
  if (offset < 0) throw new MlflowError("(psycopg2.errors.InvalidRowCountInResultOffsetClause) OFFSET must not be negative", "BAD_REQUEST");
  if (limit < 0) throw new MlflowError("(psycopg2.errors.InvalidRowCountInLimitClause) LIMIT must not be negative", "BAD_REQUEST");
}

