// SQL for runs and their params and tags: sqlalchemy_store.py's run methods, each write in one
// transaction, set-based (a request costs a constant number of statements). Metric writes are in
// metrics.ts, inputs in run-inputs.ts, the read model (Run.to_proto) in run-view.ts.
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { PyDict, pyRepr } from "../python/builtins";
import { experimentIdParam } from "../search/experiments";
import type { Db, Dialect, Row } from "./db";
import { appendToUriPath, deleteRunAssessments, type ExperimentStore } from "./experiments";
import { type LoggedMetric, codePointCompare, logMetrics, logModelMetrics } from "./metrics";
import { AUTOFLUSH, RUN_COLUMNS as INSERT_COLUMNS, dbError, emptyExperimentId, insertStatement, overflow, uniqueViolation, updateRunStatement } from "./run-errors";
import { type DatasetInput, logInputs, uuidHex } from "./run-inputs";
import { RUN_COLUMNS, inIds, loadRuns, runInfoToProto } from "./run-view";
import type { Param } from "./sqlalchemy-errors";
import { join, raw, sql } from "./sql";

export const RUN_NAME_TAG = "mlflow.runName";
export const LOGGED_MODELS_TAG = "mlflow.log-model.history";

export interface KeyValue {
  key: string;
  value: string;
}

export interface NewRun {
  /** The experiment id as requested ("" for none): MLflow inserts and answers it as given. */
  experimentId: string;
  /** The id MLflow looks the experiment up by (`experiment_id or "0"`, parsed). */
  lookupId: bigint;
  userId: string;
  startTime: number;
  runName: string;
  tags: KeyValue[];
}

export class RunStore {
  constructor(
    private readonly db: Db,
    private readonly experiments: ExperimentStore,
  ) {}

  get dialect(): Dialect {
    return this.db.dialect;
  }

  /**
   * create_run: the experiment (any stage, then it must be active), the run-name rules, the
   * row (status RUNNING, source UNKNOWN, empty source fields), the request's tags plus
   * mlflow.runName. The answer is the entity MLflow builds from what it inserted.
   */
  async create(p: NewRun, generateName: () => string): Promise<M.mlflow_Run> {
    return this.db.tx(async (tx) => {
      const experiment = await this.experiments.mustRow(tx, p.lookupId);
      if (experiment.lifecycle_stage !== "active") {
        throw MlflowError.invalid(
          `The experiment ${experiment.experiment_id} must be in the 'active' state. Current state is ${experiment.lifecycle_stage}.`,
        );
      }
      const runId = uuidHex();
      const artifactUri = appendToUriPath(appendToUriPath(experiment.artifact_location ?? "", runId), "artifacts");
      const nameTag = p.tags.find((t) => t.key === RUN_NAME_TAG)?.value;
      if (p.runName && nameTag && p.runName !== nameTag) {
        throw MlflowError.invalid(
          "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values " +
            `(run_name='${p.runName}', mlflow.runName='${nameTag}').`,
        );
      }
      const name = p.runName || nameTag || generateName();
      const tags = nameTag ? p.tags : [...p.tags, { key: RUN_NAME_TAG, value: name }];

      const row: Param[] = [runId, name, "UNKNOWN", "", "", p.userId, "RUNNING", p.startTime, null, null, "", "active", artifactUri, p.experimentId];
      const runInsert = () => insertStatement(this.dialect, "runs", INSERT_COLUMNS, [row]);
      const tooLong = overflow(this.dialect, [[name, 250], [p.userId, 256], [artifactUri, 200]]);
      if (tooLong) throw dbError(tooLong, runInsert(), "9h9h", AUTOFLUSH);
      if (p.experimentId === "") {
        throw dbError(emptyExperimentId(this.dialect, row), runInsert(), this.dialect === "sqlite" ? "gkpj" : "9h9h", AUTOFLUSH);
      }
      const tagRows = tags.map((t): Param[] => [t.key, t.value, runId]);
      const tagsInsert = () => insertStatement(this.dialect, "tags", ["key", "value", "run_uuid"], tagRows);
      const tagTooLong = overflow(this.dialect, tags.flatMap((t): [string, number][] => [[t.key, 250], [t.value, 8000]]));
      if (tagTooLong) throw dbError(tagTooLong, tagsInsert(), "9h9h", AUTOFLUSH);
      const repeated = tags.find((t, i) => tags.findIndex((u) => u.key === t.key) < i);
      if (repeated) {
        const violation = uniqueViolation(this.dialect, "tags", "tag_pk", ["key", "run_uuid"], [repeated.key, runId]);
        throw dbError(violation, tagsInsert(), "gkpj", AUTOFLUSH);
      }

      await tx.run(sql`
        INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time,
          deleted_time, source_version, lifecycle_stage, artifact_uri, experiment_id)
        VALUES (${runId}, ${name}, 'UNKNOWN', '', '', ${p.userId}, 'RUNNING', ${p.startTime}, NULL,
          NULL, '', 'active', ${artifactUri}, ${experimentIdParam(p.lookupId, this.dialect)!})`);
      const values = tags.map((t) => sql`(${t.key}, ${t.value}, ${runId})`);
      await tx.run(sql`INSERT INTO tags (key, value, run_uuid) VALUES ${join(values, ", ")}`);

      const info: M.mlflow_RunInfo = {
        run_uuid: runId, experiment_id: p.experimentId, run_name: name, user_id: p.userId, status: "RUNNING",
        start_time: p.startTime, artifact_uri: artifactUri, lifecycle_stage: "active", run_id: runId,
      };
      return { info, data: { tags: tags.map((t) => ({ key: t.key, value: t.value })) }, inputs: {} };
    });
  }

  /** get_run: the run with its latest metrics, params, tags, inputs (datasets, models), outputs. */
  async get(runId: string): Promise<M.mlflow_Run> {
    const [run] = await loadRuns(this.db, [runId], { modelInputs: true });
    if (!run) throw runNotFound(runId);
    return run;
  }

  /** _get_run + _check_run_is_active, outside a write (log_metric checks it before validating). */
  async checkActive(runId: string): Promise<void> {
    checkActive(await mustRun(this.db, runId));
  }

  /**
   * update_run_info: status and end time when given, the name (and its tag) when non-empty.
   * Answers the run's RunInfo as MLflow's updated entity has it.
   */
  async updateInfo(runId: string, status: string | undefined, endTime: number | undefined, runName: string | undefined): Promise<M.mlflow_RunInfo> {
    return this.db.tx(async (tx) => {
      const run = await mustRun(tx, runId);
      checkActive(run);
      await this.writeInfo(tx, run, status, endTime, runName || undefined);
      const updated = await mustRun(tx, runId);
      const nameTag = await tx.all<KeyValue>(sql`SELECT key, value FROM tags WHERE run_uuid = ${runId} AND key = ${RUN_NAME_TAG}`);
      return runInfoToProto(updated, nameTag);
    });
  }

  /**
   * The writes of update_run_info: only columns whose value changes (the ORM's UPDATE), then
   * the mlflow.runName tag with a new name. PostgreSQL's VARCHAR(250) fails a longer name while
   * the ORM autoflushes before reading the tag.
   */
  private async writeInfo(tx: Db, run: Row, status: string | undefined, endTime: number | undefined, name: string | undefined): Promise<void> {
    const changes: [string, Param][] = [];
    if (name !== undefined && name !== run.name) changes.push(["name", name]);
    if (status !== undefined && status !== run.status) changes.push(["status", status]);
    if (endTime !== undefined && endTime !== (run.end_time === null ? null : Number(run.end_time))) changes.push(["end_time", endTime]);
    const tooLong = overflow(tx.dialect, [[name, 250]]);
    if (tooLong) throw dbError(tooLong, updateRunStatement(changes, run.run_uuid), "9h9h", AUTOFLUSH);
    if (changes.length) {
      const sets = changes.map(([column, value]) => sql`${raw(column)} = ${value}`);
      await tx.run(sql`UPDATE runs SET ${join(sets, ", ")} WHERE run_uuid = ${run.run_uuid}`);
    }
    if (name !== undefined) await upsertTags(tx, run.run_uuid, [{ key: RUN_NAME_TAG, value: name }]);
  }

  /** log_inputs (validated): datasets (de-duplicated by name and digest) and model inputs. */
  async logInputs(runId: string, datasets: DatasetInput[], models: string[]): Promise<void> {
    await this.db.tx(async (tx) => {
      const run = await mustRun(tx, runId);
      checkActive(run);
      await logInputs(tx, runId, Number(run.experiment_id), datasets, models);
    });
  }

  /**
   * record_logged_model: the mlflow.log-model.history tag becomes `next(previous value)` (the
   * service appends the model to MLflow's JSON list and validates the tag).
   */
  async recordLoggedModel(runId: string, next: (previous: string | null | undefined) => string): Promise<void> {
    await this.db.tx(async (tx) => {
      checkActive(await mustRun(tx, runId));
      const previous = await tx.one<{ value: string | null }>(sql`SELECT value FROM tags WHERE run_uuid = ${runId} AND key = ${LOGGED_MODELS_TAG}`);
      await upsertTags(tx, runId, [{ key: LOGGED_MODELS_TAG, value: next(previous ? previous.value : undefined) }]);
    });
  }

  /** delete_run (_mark_run_deleted): the run's assessments go, the run is marked deleted. */
  async delete(runId: string): Promise<void> {
    await this.db.tx(async (tx) => {
      await mustRun(tx, runId);
      await deleteRunAssessments(tx, sql`runs.run_uuid = ${runId}`);
      await tx.run(sql`UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ${Date.now()} WHERE run_uuid = ${runId}`);
    });
  }

  /** restore_run: active again, deleted_time cleared (any stage; the experiment is not checked). */
  async restore(runId: string): Promise<void> {
    await this.db.tx(async (tx) => {
      await mustRun(tx, runId);
      await tx.run(sql`UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ${runId}`);
    });
  }

  /** log_metric (validated): the model metric first when a model id is given, then the run's. */
  async logMetric(runId: string, metric: LoggedMetric): Promise<void> {
    await this.db.tx(async (tx) => {
      const run = await mustRun(tx, runId);
      checkActive(run);
      await logModelMetrics(tx, runId, Number(run.experiment_id), [metric]);
      await logMetrics(tx, runId, [metric]);
    });
  }

  /** log_param (validated): a param is immutable; logging its value again is a no-op. */
  async logParam(runId: string, param: KeyValue): Promise<void> {
    await this.db.tx(async (tx) => {
      checkActive(await mustRun(tx, runId));
      const inserted = await tx.run(sql`
        INSERT INTO params (key, value, run_uuid) VALUES (${param.key}, ${param.value}, ${runId}) ON CONFLICT DO NOTHING`);
      if (inserted) return;
      const old = await tx.one<{ value: string }>(sql`SELECT value FROM params WHERE run_uuid = ${runId} AND key = ${param.key}`);
      if (old && old.value !== param.value) {
        throw MlflowError.invalid(
          `Changing param values is not allowed. Param with key='${param.key}' was already logged with value='${old.value}' ` +
            `for run ID='${runId}'. Attempted logging new value '${param.value}'.`,
        );
      }
    });
  }

  /** set_tag (validated): mlflow.runName renames the run (update_run_info; an empty name is a no-op). */
  async setTag(runId: string, tag: KeyValue): Promise<void> {
    await this.db.tx(async (tx) => {
      const run = await mustRun(tx, runId);
      checkActive(run);
      if (tag.key !== RUN_NAME_TAG) await upsertTags(tx, runId, [tag]);
      else if (tag.value) await this.writeInfo(tx, run, undefined, undefined, tag.value);
    });
  }

  /** delete_tag: the tag must exist (mlflow.runName included; the name stays). */
  async deleteTag(runId: string, key: string): Promise<void> {
    await this.db.tx(async (tx) => {
      checkActive(await mustRun(tx, runId));
      const deleted = await tx.run(sql`DELETE FROM tags WHERE run_uuid = ${runId} AND key = ${key}`);
      if (deleted === 0) throw new MlflowError(`No tag with name: ${key} in run with id ${runId}`, "RESOURCE_DOES_NOT_EXIST");
    });
  }

  /**
   * log_batch (validated), all or nothing: params (one INSERT, then one SELECT finds values that
   * differ from the ones logged before), metrics, model metrics, tags (mlflow.runName renames).
   */
  async logBatch(runId: string, metrics: LoggedMetric[], params: KeyValue[], tags: KeyValue[]): Promise<void> {
    await this.db.tx(async (tx) => {
      const run = await mustRun(tx, runId);
      checkActive(run);
      if (params.length) {
        const values = params.map((p) => sql`(${p.key}, ${p.value}, ${runId})`);
        await tx.run(sql`INSERT INTO params (key, value, run_uuid) VALUES ${join(values, ", ")} ON CONFLICT DO NOTHING`);
        const stored = await tx.all<KeyValue>(sql`
          SELECT key, value FROM params WHERE run_uuid = ${runId} AND ${inIds(tx.dialect, raw("key"), params.map((p) => p.key))}`);
        const old = new Map(stored.map((s) => [s.key, s.value]));
        const changed = params.filter((p) => old.get(p.key) !== p.value);
        if (changed.length) {
          const listed = changed.map((p) => new PyDict([["key", p.key], ["old_value", old.get(p.key)!], ["new_value", p.value]]));
          throw MlflowError.invalid(`Changing param values is not allowed. Params were already logged='${pyRepr(listed)}' for run ID='${runId}'.`);
        }
      }
      await logMetrics(tx, runId, metrics);
      await logModelMetrics(tx, runId, Number(run.experiment_id), metrics);
      // _set_tags: for each key the last value wins; each mlflow.runName tag goes through set_tag:
      // the last non-empty one names the run, unless an earlier one is too long for PostgreSQL.
      const names = tags.filter((t) => t.key === RUN_NAME_TAG && t.value).map((t) => t.value);
      const name = names.find((n) => overflow(tx.dialect, [[n, 250]])) ?? names.at(-1);
      if (name !== undefined) await this.writeInfo(tx, run, undefined, undefined, name);
      await upsertTags(tx, runId, tags.filter((t) => t.key !== RUN_NAME_TAG));
    });
  }
}

/**
 * Tags set (session.merge / _set_tags): one upsert, a repeated key keeping its last value. The
 * rows that exist are written first, in key order, then the new ones, as the ORM flushes them.
 */
export async function upsertTags(tx: Db, runId: string, tags: KeyValue[]): Promise<void> {
  if (tags.length === 0) return;
  const last = new Map<string, string>();
  for (const t of tags) last.set(t.key, t.value);
  const existing = await tx.all<{ key: string }>(sql`
    SELECT key FROM tags WHERE run_uuid = ${runId} AND ${inIds(tx.dialect, raw("key"), [...last.keys()])}`);
  const present = new Set(existing.map((r) => r.key));
  const keys = [...[...present].sort(codePointCompare), ...[...last.keys()].filter((k) => !present.has(k))];
  const values = keys.map((k) => sql`(${k}, ${last.get(k)!}, ${runId})`);
  await tx.run(sql`
    INSERT INTO tags (key, value, run_uuid) VALUES ${join(values, ", ")}
    ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value`);
}

const runNotFound = (runId: string) => new MlflowError(`Run with id=${runId} not found`, "RESOURCE_DOES_NOT_EXIST");

/** _get_run: the row, in any lifecycle stage. */
export async function mustRun(db: Db, runId: string): Promise<Row> {
  const row = await db.one(sql`SELECT ${RUN_COLUMNS} FROM runs WHERE runs.run_uuid = ${runId}`);
  if (!row) throw runNotFound(runId);
  return row;
}

/** _check_run_is_active */
export function checkActive(run: Row): void {
  if (run.lifecycle_stage !== "active") {
    throw MlflowError.invalid(`The run ${run.run_uuid} must be in the 'active' state. Current state is ${run.lifecycle_stage}.`);
  }
}
