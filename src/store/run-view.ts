// Runs as MLflow's Run.to_proto() serializes them for get_run and search_runs: SqlRun's
// to_mlflow_entity (latest metrics, params, tags, the run-name fallback), _get_run_inputs,
// _get_model_inputs and _get_model_outputs_bulk. One set-based query per table, whatever the
// number of runs; rows come back in the database's order, as MLflow's selectin loads see them.
import type * as M from "../generated/types";
import type { Db, Dialect, Row } from "./db";
import { type Fragment, raw, sql } from "./sql";

const RUN_NAME_TAG = "mlflow.runName";

/** The runs columns RunInfo is made of (runInfoToProto reads a row of them). */
export const RUN_COLUMNS = sql`runs.run_uuid, runs.name, runs.user_id, runs.status, runs.start_time, runs.end_time,
  runs.artifact_uri, runs.lifecycle_stage, runs.experiment_id`;

/**
 * `column IN (ids)` with all the ids in ONE bound parameter: a 50000-run page would pass
 * SQLite's variable limit as separate parameters. SQLite reads them from a JSON array; PostgreSQL
 * gets a text[] and `= ANY`, the form it gives MLflow's `IN (...)` list (so the planner makes the
 * same choices, which decide the order rows come back in). One id is a plain `=`, as for MLflow.
 */
export function inIds(dialect: Dialect, column: Fragment, ids: readonly string[]): Fragment {
  if (ids.length === 1) return sql`${column} = ${ids[0]}`;
  return dialect === "sqlite"
    ? sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`
    : sql`${column} = ANY (${[...ids]}::text[])`;
}

/** The runs with these ids, in the given order (ids without a run are skipped). */
export async function loadRuns(db: Db, runIds: string[], options: { modelInputs?: boolean } = {}): Promise<M.mlflow_Run[]> {
  const ids = [...new Set(runIds)];
  if (ids.length === 0) return [];
  const among = (column: Fragment) => inIds(db.dialect, column, ids);
  // The inputs rows of each kind, for the runs whose id `matches` the given column; used both to
  // read them and (PostgreSQL) to ask whether a run has any.
  type Matches = (column: Fragment) => Fragment;
  const datasetRows = (matches: Matches) => sql`inputs.destination_type = 'RUN' AND ${matches(sql`inputs.destination_id`)}`;
  const outputRows = (matches: Matches) =>
    sql`inputs.source_type = 'RUN_OUTPUT' AND ${matches(sql`inputs.source_id`)} AND inputs.destination_type = 'MODEL_OUTPUT'`;
  const modelInputRows = (matches: Matches) =>
    sql`inputs.source_type = 'RUN_INPUT' AND ${matches(sql`inputs.source_id`)} AND inputs.destination_type = 'MODEL_INPUT'`;
  const datasetsQuery = (matches: Matches) => sql`
    SELECT inputs.input_uuid, inputs.destination_id AS run_uuid, datasets.dataset_uuid, datasets.name,
      datasets.digest, datasets.dataset_source_type, datasets.dataset_source, datasets.dataset_schema,
      datasets.dataset_profile, input_tags.name AS tag_name, input_tags.value AS tag_value
    FROM inputs JOIN datasets ON inputs.source_id = datasets.dataset_uuid
      LEFT OUTER JOIN input_tags ON input_tags.input_uuid = inputs.input_uuid
    WHERE ${datasetRows(matches)}
    ORDER BY run_uuid`;
  const outputsQuery = (matches: Matches) => sql`SELECT source_id, destination_id, step FROM inputs WHERE ${outputRows(matches)}`;
  const modelInputsQuery = (matches: Matches) => sql`SELECT source_id, destination_id FROM inputs WHERE ${modelInputRows(matches)}`;
  let runRows: Row[], metrics: Row[], params: Row[], tags: Row[];
  let datasets: Row[] = [], outputs: Row[] = [], modelInputs: Row[] = [];
  if (db.dialect === "postgres") {
    // One statement for the runs with their latest metrics, params and tags (as JSON arrays) and
    // whether they have inputs or outputs at all; those are read only for the runs that do. The
    // server's time per GetRun is mostly the driver's per-statement work, which six statements
    // paid six times.
    const has = (rowsOf: (matches: Matches) => Fragment) =>
      sql`EXISTS (SELECT 1 FROM inputs WHERE ${rowsOf((column) => sql`${column} = runs.run_uuid`)})`;
    runRows = await db.all(sql`
      SELECT ${RUN_COLUMNS},
        (SELECT json_agg(json_build_array(m.key, m.value, m.timestamp, m.step, m.is_nan)) FROM latest_metrics m WHERE m.run_uuid = runs.run_uuid) AS data_metrics,
        (SELECT json_agg(json_build_array(p.key, p.value)) FROM params p WHERE p.run_uuid = runs.run_uuid) AS data_params,
        (SELECT json_agg(json_build_array(t.key, t.value)) FROM tags t WHERE t.run_uuid = runs.run_uuid) AS data_tags,
        ${has(datasetRows)} AS has_datasets,
        ${has(outputRows)} AS has_outputs,
        ${options.modelInputs ? has(modelInputRows) : raw("false")} AS has_model_inputs
      FROM runs WHERE ${among(sql`runs.run_uuid`)}`);
    const unpack = (column: string, names: string[]) =>
      runRows.flatMap((r) => ((r[column] ?? []) as unknown[][]).map((a) => Object.fromEntries([["run_uuid", r.run_uuid], ...names.map((n, i) => [n, a[i]])])));
    metrics = unpack("data_metrics", ["key", "value", "timestamp", "step", "is_nan"]);
    params = unpack("data_params", ["key", "value"]);
    tags = unpack("data_tags", ["key", "value"]);
    const flagged = (flag: string) => runRows.filter((r) => r[flag]).map((r) => r.run_uuid as string);
    const read = (flag: string, statement: (matches: Matches) => Fragment): Promise<Row[]> => {
      const ids = flagged(flag);
      return ids.length ? db.all(statement((column) => inIds(db.dialect, column, ids))) : Promise.resolve([]);
    };
    [datasets, outputs, modelInputs] = await Promise.all([read("has_datasets", datasetsQuery), read("has_outputs", outputsQuery), read("has_model_inputs", modelInputsQuery)]);
  } else {
    // SQLite answers synchronously: one statement after the other, none after a miss.
    runRows = await db.all(sql`SELECT ${RUN_COLUMNS} FROM runs WHERE ${among(sql`runs.run_uuid`)}`);
    if (runRows.length === 0) return [];
    metrics = await db.all(sql`SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics WHERE ${among(sql`latest_metrics.run_uuid`)}`);
    params = await db.all(sql`SELECT run_uuid, key, value FROM params WHERE ${among(sql`params.run_uuid`)}`);
    tags = await db.all(sql`SELECT run_uuid, key, value FROM tags WHERE ${among(sql`tags.run_uuid`)}`);
    datasets = await db.all(datasetsQuery(among));
    outputs = await db.all(outputsQuery(among));
    if (options.modelInputs) modelInputs = await db.all(modelInputsQuery(among));
  }
  if (runRows.length === 0) return [];

  const byRun = <T>(rows: Row[], column: string, map: (r: Row) => T) => {
    const grouped = new Map<string, T[]>();
    for (const r of rows) {
      const list = grouped.get(r[column]);
      if (list) list.push(map(r));
      else grouped.set(r[column], [map(r)]);
    }
    return grouped;
  };
  const metricsOf = byRun(metrics, "run_uuid", metricToProto);
  const paramsOf = byRun(params, "run_uuid", (r): M.mlflow_Param => ({ key: r.key, value: r.value }));
  const tagsOf = byRun(tags, "run_uuid", (r): M.mlflow_RunTag => (r.value === null ? { key: r.key } : { key: r.key, value: r.value }));
  const outputsOf = byRun(outputs, "source_id", (r): M.mlflow_ModelOutput => ({ model_id: r.destination_id, step: Number(r.step) }));
  const modelInputsOf = byRun(modelInputs, "source_id", (r): M.mlflow_ModelInput => ({ model_id: r.destination_id }));
  const datasetsOf = datasetInputs(datasets);

  const rowsById = new Map(runRows.map((r) => [r.run_uuid as string, r]));
  const runs: M.mlflow_Run[] = [];
  for (const id of runIds) {
    const row = rowsById.get(id);
    if (!row) continue;
    const runTags = tagsOf.get(id) ?? [];
    const data: M.mlflow_RunData = {};
    const runMetrics = metricsOf.get(id);
    const runParams = paramsOf.get(id);
    if (runMetrics) data.metrics = runMetrics;
    if (runParams) data.params = runParams;
    if (runTags.length) data.tags = runTags;
    const inputs: M.mlflow_RunInputs = {};
    const runDatasets = datasetsOf.get(id);
    if (runDatasets) inputs.dataset_inputs = runDatasets;
    const runModelInputs = modelInputsOf.get(id);
    if (runModelInputs) inputs.model_inputs = runModelInputs;
    const outputsMessage: M.mlflow_RunOutputs = {};
    const runOutputs = outputsOf.get(id);
    if (runOutputs) outputsMessage.model_outputs = runOutputs;
    runs.push({ info: runInfoToProto(row, runTags), data, inputs, outputs: outputsMessage });
  }
  return runs;
}

/**
 * RunInfo.to_proto of a runs row, fields in MLflow's JSON order. The run name falls back to
 * the mlflow.runName tag when the column is empty (SqlRun.to_mlflow_entity).
 */
export function runInfoToProto(row: Row, tags: readonly M.mlflow_RunTag[]): M.mlflow_RunInfo {
  let name: string | null = row.name;
  if (!name) {
    const tag = tags.find((t) => t.key === RUN_NAME_TAG);
    if (tag?.value) name = tag.value;
  }
  const info: M.mlflow_RunInfo = { run_uuid: row.run_uuid, experiment_id: String(row.experiment_id) };
  if (name !== null) info.run_name = name;
  // NULL user_id or start_time make MLflow's to_proto raise; such rows only come from other writers.
  if (row.user_id !== null) info.user_id = row.user_id;
  info.status = row.status;
  if (row.start_time !== null) info.start_time = Number(row.start_time);
  if (row.end_time) info.end_time = Number(row.end_time);
  if (row.artifact_uri) info.artifact_uri = row.artifact_uri;
  info.lifecycle_stage = row.lifecycle_stage;
  info.run_id = row.run_uuid;
  return info;
}

/** SqlLatestMetric.to_mlflow_entity: NaN rows are stored as 0 with is_nan. */
function metricToProto(r: Row): M.mlflow_Metric {
  return { key: r.key, value: isTrue(r.is_nan) ? NaN : Number(r.value), timestamp: Number(r.timestamp), step: Number(r.step) };
}

const isTrue = (v: unknown) => v === true || v === 1 || v === "1";

/** _get_run_inputs' grouping: per run, one DatasetInput per dataset, tags appended as they come. */
function datasetInputs(rows: Row[]): Map<string, M.mlflow_DatasetInput[]> {
  const perRun = new Map<string, Map<string, { tags: M.mlflow_InputTag[]; dataset: M.mlflow_Dataset }>>();
  for (const r of rows) {
    let datasets = perRun.get(r.run_uuid);
    if (!datasets) perRun.set(r.run_uuid, (datasets = new Map()));
    let input = datasets.get(r.dataset_uuid);
    if (!input) {
      const dataset: M.mlflow_Dataset = { name: r.name, digest: r.digest, source_type: r.dataset_source_type, source: r.dataset_source };
      if (r.dataset_schema) dataset.schema = r.dataset_schema;
      if (r.dataset_profile) dataset.profile = r.dataset_profile;
      datasets.set(r.dataset_uuid, (input = { tags: [], dataset }));
    }
    if (r.tag_name !== null) input.tags.push({ key: r.tag_name, value: r.tag_value });
  }
  const result = new Map<string, M.mlflow_DatasetInput[]>();
  for (const [runId, datasets] of perRun) {
    result.set(runId, [...datasets.values()].map((d) => (d.tags.length ? { tags: d.tags, dataset: d.dataset } : { dataset: d.dataset })));
  }
  return result;
}
