// SQL for experiments and their tags: sqlalchemy_store.py's experiment methods, with the
// statements MLflow's ORM issues written out (and runs/assessments updated set-wise).
// Every query is scoped to the default workspace, as MLflow's workspace-aware store scopes
// it; MLflow's single-tenant store refuses to start when other workspaces exist, so the
// answers are the same.
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { experimentFilterSql, experimentIdParam, experimentOrderBySql, parseExperimentFilter } from "../search/experiments";
import { pyLen } from "../python/builtins";
import { createPageToken, parseStartOffset } from "../search/utils";
import type { Db, Dialect, Row } from "./db";
import { type Param, reprMany, reprParams, sqlalchemyError } from "./sqlalchemy-errors";
import { type Fragment, join, list, sql } from "./sql";

export const DEFAULT_WORKSPACE = "default";
const SOURCE_RUN_ID = "mlflow.assessment.sourceRunId"; // AssessmentMetadataKey.SOURCE_RUN_ID

export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
const STAGES: Record<ViewType, string[]> = { ACTIVE_ONLY: ["active"], DELETED_ONLY: ["deleted"], ALL: ["active", "deleted"] };

export interface SearchParams {
  viewType: ViewType;
  maxResults: number;
  filter: string;
  orderBy: readonly string[];
  pageToken?: string;
}

/** One experiment row as Experiment.to_proto emits it (field order as MLflow's JSON has it). */
function toProto(row: Row, tags: M.mlflow_ExperimentTag[]): M.mlflow_Experiment {
  const e: M.mlflow_Experiment = { experiment_id: String(row.experiment_id), name: row.name };
  if (row.artifact_location !== null) e.artifact_location = row.artifact_location;
  if (row.lifecycle_stage !== null) e.lifecycle_stage = row.lifecycle_stage;
  if (row.last_update_time) e.last_update_time = Number(row.last_update_time); // 0 and NULL are left out
  if (row.creation_time) e.creation_time = Number(row.creation_time);
  if (tags.length) e.tags = tags;
  e.workspace = row.workspace ?? DEFAULT_WORKSPACE;
  return e;
}

const COLUMNS = sql`experiments.experiment_id, experiments.name, experiments.artifact_location, experiments.lifecycle_stage,
  experiments.creation_time, experiments.last_update_time, experiments.workspace`;

export class ExperimentStore {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  get dialect(): Dialect {
    return this.db.dialect;
  }

  artifactLocation(experimentId: number | string): string {
    return appendToUriPath(this.config.defaultArtifactRoot, String(experimentId));
  }

  /** _create_default_experiment: experiment 0, "Default", if it is missing. */
  async ensureDefaultExperiment(): Promise<void> {
    const now = Date.now();
    await this.db.run(sql`
      INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time, workspace)
      VALUES (0, 'Default', ${this.artifactLocation(0)}, 'active', ${now}, ${now}, ${DEFAULT_WORKSPACE})
      ON CONFLICT DO NOTHING`);
  }

  /**
   * create_experiment. MLflow inserts the row (artifact_location '' until the id is known),
   * then the tags; an IntegrityError on either becomes "Experiment(name=...) already exists".
   */
  async create(name: string, artifactLocation: string, tags: M.mlflow_ExperimentTag[]): Promise<string> {
    return this.db.tx(async (tx) => {
      const now = Date.now();
      if (tooLong(this.dialect, name, artifactLocation)) {
        throw new MlflowError(sqlalchemyError(TRUNCATION, insertStatement(this.dialect, name, artifactLocation, now), "9h9h"), "BAD_REQUEST");
      }
      const row = await tx.one<{ experiment_id: number }>(sql`
        INSERT INTO experiments (name, workspace, artifact_location, lifecycle_stage, creation_time, last_update_time)
        VALUES (${name}, ${DEFAULT_WORKSPACE}, ${artifactLocation}, 'active', ${now}, ${now})
        ON CONFLICT (workspace, name) DO NOTHING
        RETURNING experiment_id`);
      if (!row) {
        const violation = uniqueViolation(this.dialect, "experiments", [DEFAULT_WORKSPACE, name]);
        throw alreadyExists(name, sqlalchemyError(violation, insertStatement(this.dialect, name, artifactLocation, now), "gkpj"));
      }
      const id = row.experiment_id;
      // Duplicate keys violate experiment_tag_pk when MLflow flushes them (after the row took
      // its id, which PostgreSQL's sequence does not give back).
      const seen = new Set<string>();
      for (const tag of tags) {
        if (seen.has(tag.key!)) {
          const violation = uniqueViolation(this.dialect, "experiment_tags", [tag.key!, String(id)]);
          throw alreadyExists(name, sqlalchemyError(violation, tagsStatement(this.dialect, id, tags), "gkpj"));
        }
        seen.add(tag.key!);
      }
      if (!artifactLocation) {
        await tx.run(sql`UPDATE experiments SET artifact_location = ${this.artifactLocation(id)} WHERE experiment_id = ${id}`);
      }
      if (tags.length) {
        const values = tags.map((t) => sql`(${t.key}, ${t.value ?? null}, ${id})`);
        await tx.run(sql`INSERT INTO experiment_tags (key, value, experiment_id) VALUES ${join(values, ", ")}`);
      }
      return String(id);
    });
  }

  /** The experiment row (any lifecycle stage MLflow knows), or undefined. */
  private async row(db: Db, id: bigint): Promise<Row | undefined> {
    const param = experimentIdParam(id, this.dialect);
    if (param === undefined) return undefined;
    return db.one(sql`
      SELECT ${COLUMNS} FROM experiments
      WHERE experiments.experiment_id = ${param} AND experiments.lifecycle_stage IN ('active', 'deleted')
        AND experiments.workspace = ${DEFAULT_WORKSPACE}`);
  }

  /** _get_experiment(..., ViewType.ALL): MLflow's not-found error carries the parsed int. */
  async mustRow(db: Db, id: bigint): Promise<Row> {
    const row = await this.row(db, id);
    if (!row) throw notFound(id);
    return row;
  }

  /**
   * The experiments' tags, one query, in the database's order (as MLflow's eager load). The ids
   * go in as one parameter: a 50000-experiment page would pass SQLite's variable limit.
   */
  private async tagsOf(db: Db, ids: number[]): Promise<Map<number, M.mlflow_ExperimentTag[]>> {
    const byId = new Map<number, M.mlflow_ExperimentTag[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return byId;
    const csv = ids.join(",");
    const among =
      this.dialect === "sqlite"
        ? sql`experiment_id IN (SELECT value FROM json_each(${`[${csv}]`}))`
        : sql`experiment_id = ANY (string_to_array(${csv}, ',')::int[])`;
    const rows = await db.all<{ key: string; value: string | null; experiment_id: number }>(
      sql`SELECT key, value, experiment_id FROM experiment_tags WHERE ${among}`,
    );
    for (const r of rows) byId.get(Number(r.experiment_id))?.push(r.value === null ? { key: r.key } : { key: r.key, value: r.value });
    return byId;
  }

  async get(id: bigint): Promise<M.mlflow_Experiment> {
    const row = await this.mustRow(this.db, id);
    const tags = await this.tagsOf(this.db, [row.experiment_id]);
    return toProto(row, tags.get(Number(row.experiment_id))!);
  }

  async getByName(name: string): Promise<M.mlflow_Experiment | undefined> {
    const row = await this.db.one(sql`
      SELECT ${COLUMNS} FROM experiments
      WHERE experiments.name = ${name} AND experiments.lifecycle_stage IN ('active', 'deleted')
        AND experiments.workspace = ${DEFAULT_WORKSPACE}`);
    if (!row) return undefined;
    const tags = await this.tagsOf(this.db, [row.experiment_id]);
    return toProto(row, tags.get(Number(row.experiment_id))!);
  }

  /** _search_experiments: one statement for the page (max_results + 1 rows), one for its tags. */
  async search(p: SearchParams): Promise<{ experiments: M.mlflow_Experiment[]; nextPageToken?: string }> {
    validateMaxResults(p.maxResults);
    const { conditions, bindError } = experimentFilterSql(parseExperimentFilter(p.filter), this.dialect);
    const orderBy = experimentOrderBySql(p.orderBy);
    const offset = parseStartOffset(p.pageToken);
    if (bindError) throw bindError;
    if (offset < 0 && this.dialect === "postgres") {
      // SQLite reads a negative OFFSET as 0; PostgreSQL refuses it (MLflow: BAD_REQUEST).
      throw new MlflowError("(psycopg2.errors.InvalidRowCountInResultOffsetClause) OFFSET must not be negative", "BAD_REQUEST");
    }
    const where: Fragment[] = [
      ...conditions,
      sql`experiments.lifecycle_stage IN (${list(STAGES[p.viewType])})`,
      sql`experiments.workspace = ${DEFAULT_WORKSPACE}`,
    ];
    const rows = await this.db.all(sql`
      SELECT ${COLUMNS} FROM experiments
      WHERE ${join(where, " AND ")}
      ORDER BY ${orderBy}
      LIMIT ${p.maxResults + 1} OFFSET ${offset}`);
    const page = rows.slice(0, p.maxResults);
    const tags = await this.tagsOf(this.db, page.map((r) => Number(r.experiment_id)));
    return {
      experiments: page.map((r) => toProto(r, tags.get(Number(r.experiment_id))!)),
      nextPageToken: rows.length === p.maxResults + 1 ? createPageToken(offset + p.maxResults) : undefined,
    };
  }

  /**
   * delete_experiment: the active experiment becomes deleted, and so do all its runs (each
   * with deleted_time), after the assessments their runs produced are deleted, which
   * _mark_run_deleted finds by the run id in assessment_metadata.
   */
  async delete(id: bigint): Promise<void> {
    await this.db.tx(async (tx) => {
      const param = experimentIdParam(id, this.dialect);
      const now = Date.now();
      const changed =
        param === undefined
          ? 0
          : await tx.run(sql`
              UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ${now}
              WHERE experiment_id = ${param} AND lifecycle_stage = 'active' AND workspace = ${DEFAULT_WORKSPACE}`);
      if (changed === 0) throw notFound(id);
      await deleteRunAssessments(tx, sql`runs.experiment_id = ${param}`);
      await tx.run(sql`UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ${now} WHERE experiment_id = ${param}`);
    });
  }

  /** restore_experiment: a deleted experiment and all its runs become active again. */
  async restore(id: bigint): Promise<void> {
    await this.db.tx(async (tx) => {
      const param = experimentIdParam(id, this.dialect);
      const changed =
        param === undefined
          ? 0
          : await tx.run(sql`
              UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ${Date.now()}
              WHERE experiment_id = ${param} AND lifecycle_stage = 'deleted' AND workspace = ${DEFAULT_WORKSPACE}`);
      if (changed === 0) throw notFound(id);
      await tx.run(sql`UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ${param}`);
    });
  }

  /** rename_experiment. A taken name fails as MLflow's flush does: BAD_REQUEST, the driver's text. */
  async rename(id: bigint, newName: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const row = await this.mustRow(tx, id);
      if (row.lifecycle_stage !== "active") throw new MlflowError("Cannot rename a non-active experiment.", "INVALID_STATE");
      const taken = await tx.one(sql`
        SELECT 1 AS x FROM experiments
        WHERE workspace = ${DEFAULT_WORKSPACE} AND name = ${newName} AND experiment_id <> ${row.experiment_id}`);
      const now = Date.now();
      const statement = () => updateStatement(this.dialect, row.experiment_id, newName, now);
      if (tooLong(this.dialect, newName)) throw new MlflowError(sqlalchemyError(TRUNCATION, statement(), "9h9h"), "BAD_REQUEST");
      if (taken) throw new MlflowError(sqlalchemyError(uniqueViolation(this.dialect, "experiments", [DEFAULT_WORKSPACE, newName]), statement(), "gkpj"), "BAD_REQUEST");
      await tx.run(sql`UPDATE experiments SET name = ${newName}, last_update_time = ${now} WHERE experiment_id = ${row.experiment_id}`);
    });
  }

  /** set_experiment_tag: only on an active experiment; upserts (session.merge). */
  async setTag(id: bigint, key: string, value: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const row = await this.mustRow(tx, id);
      checkActive(row);
      await tx.run(sql`
        INSERT INTO experiment_tags (key, value, experiment_id) VALUES (${key}, ${value}, ${row.experiment_id})
        ON CONFLICT (key, experiment_id) DO UPDATE SET value = excluded.value`);
    });
  }

  /** delete_experiment_tag: only on an active experiment; the tag must exist. */
  async deleteTag(id: bigint, key: string, requestedId: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const row = await this.mustRow(tx, id);
      checkActive(row);
      const deleted = await tx.run(sql`DELETE FROM experiment_tags WHERE experiment_id = ${row.experiment_id} AND key = ${key}`);
      if (deleted === 0) {
        throw new MlflowError(`No tag with name: ${key} in experiment with id ${requestedId}`, "RESOURCE_DOES_NOT_EXIST");
      }
    });
  }
}

/**
 * _mark_run_deleted's first step, for every run matching `runs` (a condition on the runs
 * table): delete the assessments the runs produced, found by the run id MLflow stores under
 * mlflow.assessment.sourceRunId in assessment_metadata (SQLAlchemy's `contains`).
 */
export async function deleteRunAssessments(tx: Db, runs: Fragment): Promise<void> {
  await tx.run(sql`
    DELETE FROM assessments WHERE EXISTS (
      SELECT 1 FROM runs WHERE ${runs}
        AND assessments.assessment_metadata LIKE '%' || ${`"${SOURCE_RUN_ID}": "`} || runs.run_uuid || '"%')`);
}

const notFound = (id: bigint) => new MlflowError(`No Experiment with id=${id} exists`, "RESOURCE_DOES_NOT_EXIST");

/** _check_experiment_is_active */
function checkActive(row: Row): void {
  if (row.lifecycle_stage !== "active") {
    throw MlflowError.invalid(`The experiment ${row.experiment_id} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
  }
}

/** SqlAlchemyStore._validate_max_results_param */
function validateMaxResults(maxResults: number): void {
  if (maxResults < 1) throw MlflowError.invalid(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`);
  if (maxResults > 50000) throw MlflowError.invalid(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most 50000`);
}

// ---- MLflow's IntegrityError messages (rebuilt with store/sqlalchemy-errors.ts) ---------------

/** The unique-constraint violation as sqlite3 or psycopg2 words it. */
function uniqueViolation(dialect: Dialect, table: "experiments" | "experiment_tags", values: string[]): string {
  const [constraint, key] = table === "experiments" ? ["uq_experiments_workspace_name", ["workspace", "name"]] : ["experiment_tag_pk", ["key", "experiment_id"]];
  if (dialect === "sqlite") return `(sqlite3.IntegrityError) UNIQUE constraint failed: ${key.map((c) => `${table}.${c}`).join(", ")}`;
  return (
    `(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "${constraint}"\n` +
    `DETAIL:  Key (${key.join(", ")})=(${values.join(", ")}) already exists.\n`
  );
}

/** experiments.name and artifact_location are VARCHAR(256); only PostgreSQL enforces it. */
const tooLong = (dialect: Dialect, ...values: string[]) => dialect === "postgres" && values.some((v) => pyLen(v) > 256);
const TRUNCATION = "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(256)\n";

const INSERT_COLUMNS = ["name", "workspace", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time"];

/** create_experiment's INSERT of the experiment row, as SQLAlchemy renders it for the driver. */
function insertStatement(dialect: Dialect, name: string, location: string, now: number): [string, string] {
  const values: Param[] = [name, DEFAULT_WORKSPACE, location, "active", now, now];
  if (dialect === "sqlite") return [`INSERT INTO experiments (${INSERT_COLUMNS.join(", ")}) VALUES (?, ?, ?, ?, ?, ?)`, reprParams(values)];
  return [
    `INSERT INTO experiments (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map((c) => `%(${c})s`).join(", ")}) RETURNING experiments.experiment_id`,
    reprParams(INSERT_COLUMNS.map((c, i) => [c, values[i]!] as [string, Param])),
  ];
}

/** rename_experiment's UPDATE. */
function updateStatement(dialect: Dialect, id: number, newName: string, now: number): [string, string] {
  if (dialect === "sqlite") return ["UPDATE experiments SET name=?, last_update_time=? WHERE experiments.experiment_id = ?", reprParams([newName, now, id])];
  return [
    "UPDATE experiments SET name=%(name)s, last_update_time=%(last_update_time)s WHERE experiments.experiment_id = %(experiments_experiment_id)s",
    reprParams([["name", newName], ["last_update_time", now], ["experiments_experiment_id", id]]),
  ];
}

/** The tags' INSERT (executemany on SQLite, one multi-row INSERT on PostgreSQL). */
function tagsStatement(dialect: Dialect, id: number, tags: M.mlflow_ExperimentTag[]): [string, string] {
  const rows = tags.map((t) => [t.key!, t.value!, id]);
  if (dialect === "sqlite") return ['INSERT INTO experiment_tags ("key", value, experiment_id) VALUES (?, ?, ?)', reprMany(rows)];
  return [
    `INSERT INTO experiment_tags (key, value, experiment_id) VALUES ${rows.map((_, i) => `(%(key__${i})s, %(value__${i})s, %(experiment_id__${i})s)`).join(", ")}`,
    // psycopg2's dict; MLflow's own key order varies from process to process
    reprParams(rows.flatMap(([k, v, e], i) => [[`experiment_id__${i}`, e!], [`key__${i}`, k!], [`value__${i}`, v!]] as [string, Param][])),
  ];
}

const alreadyExists = (name: string, text: string) => new MlflowError(`Experiment(name=${name}) already exists. Error: ${text}`, "RESOURCE_ALREADY_EXISTS");

// ---- artifact locations: mlflow/utils/uri.py -----------------------------------------------------

/** mlflow.utils.uri.append_to_uri_path for the simple case of one relative segment. */
export function appendToUriPath(uri: string, segment: string): string {
  const q = uri.indexOf("?");
  const [base, query] = q >= 0 ? [uri.slice(0, q), uri.slice(q)] : [uri, ""];
  return `${base.replace(/\/+$/, "")}/${segment}${query}`;
}
