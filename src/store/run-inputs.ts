// log_inputs' writes (SqlAlchemyStore._log_inputs_impl), set-based: datasets are shared per
// experiment by (name, digest), a run links each dataset once (with the input's tags, written
// only with the link), and model inputs are merged on their key (a repeat takes a new input_uuid).
import type { Db } from "./db";
import { AUTOFLUSH, dbError, insertStatement, overflow, uniqueViolation } from "./run-errors";
import { inIds } from "./run-view";
import type { Param } from "./sqlalchemy-errors";
import { join, raw, sql } from "./sql";

export interface DatasetInput {
  dataset: { name: string; digest: string; source_type: string; source: string; schema?: string; profile?: string };
  tags: { key: string; value: string }[];
}

const DATASET_COLUMNS = ["dataset_uuid", "experiment_id", "name", "digest", "dataset_source_type", "dataset_source", "dataset_schema", "dataset_profile"];
const INPUT_COLUMNS = ["input_uuid", "source_type", "source_id", "destination_type", "destination_id"];
const TAG_COLUMNS = ["input_uuid", "name", "value"];

/** uuid.uuid4().hex */
export const uuidHex = () => crypto.randomUUID().replace(/-/g, "");
const pairKey = (name: string, digest: string) => JSON.stringify([name, digest]);

/** Inside the caller's transaction, for an active run of experiment `experimentId`. */
export async function logInputs(tx: Db, runId: string, experimentId: number, inputs: DatasetInput[], models: string[]): Promise<void> {
  // the first input of each (name, digest) is kept
  const unique = new Map<string, DatasetInput>();
  for (const input of inputs) {
    const key = pairKey(input.dataset.name, input.dataset.digest);
    if (!unique.has(key)) unique.set(key, input);
  }
  const datasetIds = new Map<string, string>();
  const newDatasets: Param[][] = [];
  const newInputs: Param[][] = [];
  const newTags: Param[][] = [];
  if (unique.size) {
    const list = [...unique.values()];
    // MLflow's query: names IN (...) AND digests IN (...), then matched by pair
    const found = await tx.all<{ dataset_uuid: string; name: string; digest: string }>(sql`
      SELECT dataset_uuid, name, digest FROM datasets
      WHERE experiment_id = ${experimentId} AND ${inIds(tx.dialect, raw("name"), list.map((i) => i.dataset.name))}
        AND ${inIds(tx.dialect, raw("digest"), list.map((i) => i.dataset.digest))}`);
    for (const f of found) datasetIds.set(pairKey(f.name, f.digest), f.dataset_uuid);
    for (const [key, { dataset: d }] of unique) {
      if (datasetIds.has(key)) continue;
      const id = uuidHex();
      datasetIds.set(key, id);
      newDatasets.push([id, experimentId, d.name, d.digest, d.source_type, d.source, d.schema ?? null, d.profile ?? null]);
    }
    const linked = await tx.all<{ source_id: string }>(sql`
      SELECT source_id FROM inputs
      WHERE source_type = 'DATASET' AND ${inIds(tx.dialect, raw("source_id"), [...unique.keys()].map((k) => datasetIds.get(k)!))}
        AND destination_type = 'RUN' AND destination_id = ${runId}`);
    const isLinked = new Set(linked.map((l) => l.source_id));
    for (const [key, input] of unique) {
      const datasetId = datasetIds.get(key)!;
      if (isLinked.has(datasetId)) continue;
      const inputId = uuidHex();
      newInputs.push([inputId, "DATASET", datasetId, "RUN", runId]);
      for (const t of input.tags) newTags.push([inputId, t.key, t.value]);
    }
  }
  // session.merge of each model input: the last merge of a key leaves its input_uuid
  const modelInputs = new Map<string, string>();
  for (const model of models) modelInputs.set(model, uuidHex());

  await checkFlush(tx, runId, newDatasets, newInputs, newTags, models);
  if (newDatasets.length) await insertRows(tx, "datasets", DATASET_COLUMNS, newDatasets);
  if (modelInputs.size) {
    const values = [...modelInputs].map(([model, id]) => sql`(${id}, 'RUN_INPUT', ${runId}, 'MODEL_INPUT', ${model})`);
    await tx.run(sql`
      INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) VALUES ${join(values, ", ")}
      ON CONFLICT (source_type, source_id, destination_type, destination_id) DO UPDATE SET input_uuid = excluded.input_uuid`);
  }
  if (newInputs.length) await insertRows(tx, "inputs", INPUT_COLUMNS, newInputs);
  if (newTags.length) await insertRows(tx, "input_tags", TAG_COLUMNS, newTags);
}

async function insertRows(tx: Db, table: string, columns: string[], rows: Param[][]): Promise<void> {
  const values = rows.map((r) => sql`(${join(r.map((v) => sql`${v}`), ", ")})`);
  await tx.run(sql`INSERT INTO ${raw(table)} (${raw(columns.join(", "))}) VALUES ${join(values, ", ")}`);
}

/** inputs.step has a server default: the ORM reads it back (and, for many rows, its sentinel columns). */
const INPUT_RETURNING = {
  one: "RETURNING inputs.step",
  many: "RETURNING inputs.step, inputs.source_type, inputs.source_id, inputs.destination_type, inputs.destination_id",
};

/**
 * What fails MLflow's flushes, as the driver reports it: a model id over PostgreSQL's
 * VARCHAR(36) (each merge's query autoflushes the model input merged before it; the last one is
 * flushed at commit with the dataset links), a source type over VARCHAR(36) (MLflow checks
 * neither), and a tag name given twice for one dataset input. The commit flushes datasets, then
 * inputs, then input tags.
 */
async function checkFlush(
  tx: Db, runId: string, datasets: Param[][], inputs: Param[][], tags: Param[][], models: string[],
): Promise<void> {
  const row = (model: string): Param[] => [uuidHex(), "RUN_INPUT", runId, "MODEL_INPUT", model];
  // an id that long cannot be stored, so the model input is new
  const longModel = models.findIndex((m) => overflow(tx.dialect, [[m, 36]]));
  if (longModel >= 0 && longModel < models.length - 1) {
    const statement = insertStatement(tx.dialect, "inputs", INPUT_COLUMNS, [row(models[longModel]!)], INPUT_RETURNING);
    throw dbError(overflow(tx.dialect, [[models[longModel], 36]])!, statement, "9h9h", AUTOFLUSH);
  }
  const sourceType = overflow(tx.dialect, datasets.map((d): [string, number] => [d[4] as string, 36]));
  if (sourceType) throw dbError(sourceType, insertStatement(tx.dialect, "datasets", DATASET_COLUMNS, datasets), "9h9h");
  if (longModel >= 0) {
    const statement = insertStatement(tx.dialect, "inputs", INPUT_COLUMNS, [row(models[longModel]!), ...inputs], INPUT_RETURNING);
    throw dbError(overflow(tx.dialect, [[models[longModel], 36]])!, statement, "9h9h");
  }
  const repeated = tags.find((t, i) => tags.findIndex((u) => u[0] === t[0] && u[1] === t[1]) < i);
  if (repeated) {
    const violation = uniqueViolation(tx.dialect, "input_tags", "input_tags_pk", ["input_uuid", "name"], [repeated[0] as string, repeated[1] as string]);
    throw dbError(violation, insertStatement(tx.dialect, "input_tags", TAG_COLUMNS, tags), "gkpj");
  }
}
