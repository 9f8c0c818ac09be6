// Metric writes: SqlAlchemyStore._log_metrics_once, _update_latest_metrics_if_necessary and
// _log_model_metrics, set-based (one INSERT for the history, one SELECT and one upsert for the
// latest values, one INSERT for model metrics), inside the caller's transaction.
import type { Db, Dialect, Row } from "./db";
import { Float, type Param } from "./sqlalchemy-errors";
import { dbError, insertStatement, uniqueViolation } from "./run-errors";
import { inIds } from "./run-view";
import { type Fragment, join, raw, sql } from "./sql";

/** A metric as the request gave it (Metric.from_proto). */
export interface LoggedMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  modelId?: string;
  datasetName?: string;
  datasetDigest?: string;
}

/** A metrics / latest_metrics row: NaN stored as 0 with is_nan. */
interface MetricRow {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  isNan: boolean;
}

const MAX_DOUBLE = 1.7976931348623157e308;

/** sanitize_metric_value: SQL cannot store NaN or ±inf. */
function sanitize(value: number): { isNan: boolean; value: number } {
  if (Number.isNaN(value)) return { isNan: true, value: 0 };
  if (!Number.isFinite(value)) return { isNan: false, value: value > 0 ? MAX_DOUBLE : -MAX_DOUBLE };
  return { isNan: false, value };
}

/** _compare_metrics: strictly more recent by (step, timestamp, value). */
function newer(a: MetricRow, b: MetricRow): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value;
}

/**
 * _log_metrics for a run known to be active: the history rows (a row already there, i.e. the
 * same full primary key, is skipped as MLflow's IntegrityError fallback skips it), then the
 * latest values.
 */
export async function logMetrics(tx: Db, runId: string, metrics: LoggedMetric[]): Promise<void> {
  if (metrics.length === 0) return;
  const rows: MetricRow[] = metrics.map((m) => ({ key: m.key, timestamp: m.timestamp, step: m.step, ...sanitize(m.value) }));
  const source = tx.dialect === "postgres"
    ? sql`SELECT r.key, r.value, r.timestamp, r.step, r.is_nan, ${runId} FROM json_to_recordset(CAST(${pgRecords(rows)}::text AS json))
        AS r(key text, value float8, timestamp bigint, step bigint, is_nan boolean)`
    : sql`VALUES ${join(rows.map((r) => sql`(${r.key}, ${r.value}, ${r.timestamp}, ${r.step}, ${r.isNan}, ${runId})`), ", ")}`;
  const insert = sql`INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) ${source}`;
  if (tx.dialect === "postgres" && rows.length >= PLAIN_INSERT_ROWS) await insertOrSkipTaken(tx, insert);
  else await tx.run(sql`${insert} ON CONFLICT DO NOTHING`);
  await updateLatestMetrics(tx, runId, rows);
}

/** The rows as one JSON parameter: one value to bind instead of six per row. */
function pgRecords(rows: MetricRow[]): string {
  return JSON.stringify(rows.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, step: r.step, is_nan: r.isNan })));
}

/**
 * From this many rows on, PostgreSQL gets a plain INSERT first: ON CONFLICT's speculative
 * insertion costs ~25% more per row (1,000-row batches: 80 → 103 per second, 16 clients). Below
 * it, the two extra savepoint round trips cost more than they save.
 */
const PLAIN_INSERT_ROWS = 100;

/** The insert; when a row is already there, the insert again without the rows already there. */
async function insertOrSkipTaken(tx: Db, insert: Fragment): Promise<void> {
  try {
    await tx.savepoint((sp) => sp.run(insert));
  } catch (e) {
    if (!String((e as Error)?.message).includes('unique constraint "metric_pk"')) throw e;
    await tx.run(sql`${insert} ON CONFLICT DO NOTHING`);
  }
}

/**
 * _update_latest_metrics_if_necessary. Per key, the batch's candidate is its first most recent
 * metric; it replaces the stored row only when strictly more recent. The stored rows are locked
 * (FOR UPDATE, in key order) as MLflow locks them. Updates are written before inserts, as the
 * ORM flushes them, so PostgreSQL keeps rows in the order MLflow's writes leave them.
 */
async function updateLatestMetrics(tx: Db, runId: string, rows: MetricRow[]): Promise<void> {
  const candidates = new Map<string, MetricRow>();
  for (const r of rows) {
    const best = candidates.get(r.key);
    if (!best || newer(r, best)) candidates.set(r.key, r);
  }
  const lock = tx.dialect === "postgres" ? raw("ORDER BY key FOR UPDATE") : raw("");
  const stored = await tx.all<{ key: string; value: number; timestamp: number; step: number }>(sql`
    SELECT key, value, timestamp, step FROM latest_metrics
    WHERE run_uuid = ${runId} AND ${inIds(tx.dialect, raw("key"), [...candidates.keys()])} ${lock}`);
  const storedByKey = new Map(stored.map((s) => [s.key, { ...s, timestamp: Number(s.timestamp), step: Number(s.step), isNan: false }]));
  const updates = [...storedByKey.keys()]
    .sort(codePointCompare)
    .filter((key) => newer(candidates.get(key)!, storedByKey.get(key)!))
    .map((key) => candidates.get(key)!);
  const inserts = [...candidates.values()].filter((c) => !storedByKey.has(c.key));
  const changed = [...updates, ...inserts];
  if (changed.length === 0) return;
  const values = changed.map((r) => sql`(${r.key}, ${r.value}, ${r.timestamp}, ${r.step}, ${r.isNan}, ${runId})`);
  // The guard keeps a concurrent writer's newer row (a key two transactions both found missing).
  await tx.run(sql`
    INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ${join(values, ", ")}
    ON CONFLICT (key, run_uuid) DO UPDATE SET
      value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan
    WHERE (excluded.step, excluded.timestamp, excluded.value) > (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)`);
}

/** Python's str ordering (code points), which the ORM's primary-key sort uses. */
export function codePointCompare(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const MODEL_METRIC_COLUMNS = [
  "model_id", "metric_name", "metric_timestamp_ms", "metric_step", "metric_value", "experiment_id", "run_id",
  "dataset_uuid", "dataset_name", "dataset_digest",
];

/**
 * _log_model_metrics: metrics carrying a model id also go to logged_model_metrics (NaN as 0,
 * ±inf clamped; exact repeats dropped). MLflow inserts them all; when that fails (a model that
 * does not exist, a primary key already taken) it drops the rows equal to stored ones and
 * inserts the rest again, and a second failure is the driver's IntegrityError. Both flushes
 * are simulated from one read of the models and one of the stored rows.
 */
export async function logModelMetrics(tx: Db, runId: string, experimentId: number, metrics: LoggedMetric[]): Promise<void> {
  const seen = new Set<string>();
  const rows: Param[][] = [];
  for (const m of metrics) {
    if (m.modelId === undefined) continue;
    // Metric.__eq__ compares every field; NaN never equals itself, so NaN metrics never repeat.
    const identity = JSON.stringify([m.key, m.value, m.timestamp, m.step, m.modelId, m.datasetName, m.datasetDigest]);
    if (!Number.isNaN(m.value) && seen.has(identity)) continue;
    seen.add(identity);
    // sanitize_metric_value's NaN is the int 0: psycopg2 prints it so, SQLite's Float type binds 0.0
    const value = Number.isNaN(m.value) && tx.dialect === "postgres" ? 0 : new Float(sanitize(m.value).value);
    rows.push([m.modelId, m.key, m.timestamp, m.step, value, experimentId, runId, null, m.datasetName ?? null, m.datasetDigest ?? null]);
  }
  if (rows.length === 0) return;
  const models = new Set(
    (await tx.all<{ model_id: string }>(sql`
      SELECT model_id FROM logged_models WHERE ${inIds(tx.dialect, raw("model_id"), [...new Set(rows.map((r) => r[0] as string))])}`)).map((r) => r.model_id),
  );
  const stored = await tx.all<Row>(sql`
    SELECT model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, dataset_name, dataset_digest
    FROM logged_model_metrics WHERE run_id = ${runId} AND ${inIds(tx.dialect, raw("metric_name"), [...new Set(rows.map((r) => r[1] as string))])}`);
  const storedRows = stored.map((r): Param[] => [
    r.model_id, r.metric_name, Number(r.metric_timestamp_ms), Number(r.metric_step), new Float(Number(r.metric_value)), experimentId, runId, null, r.dataset_name, r.dataset_digest,
  ]);
  let insert = rows;
  if (firstFailure(tx.dialect, rows, storedRows, models)) {
    const entity = (r: Param[]) => JSON.stringify([r[0], r[1], r[2], r[3], r[4] instanceof Float ? r[4].value : r[4], r[8], r[9]]);
    const existing = new Set(storedRows.map(entity));
    insert = rows.filter((r) => !existing.has(entity(r)));
    const failure = firstFailure(tx.dialect, insert, storedRows, models);
    if (failure) throw dbError(failure, insertStatement(tx.dialect, "logged_model_metrics", MODEL_METRIC_COLUMNS, insert), "gkpj");
  }
  if (insert.length === 0) return;
  const values = insert.map((r) => sql`(${join(r.map((v) => sql`${v instanceof Float ? v.value : v}`), ", ")})`);
  await tx.run(sql`INSERT INTO logged_model_metrics (${raw(MODEL_METRIC_COLUMNS.join(", "))}) VALUES ${join(values, ", ")}`);
}

/**
 * The driver's error for inserting `rows`, if any: sqlite3 runs one statement per row (each
 * checks both keys), PostgreSQL's one statement reports a taken key before the foreign keys
 * it checks at the end.
 */
function firstFailure(dialect: Dialect, rows: Param[][], stored: Param[][], models: Set<string>): string | undefined {
  const pk = (r: Param[]) => JSON.stringify([r[0], r[1], r[2], r[3]]);
  const taken = new Set(stored.map(pk));
  let duplicate: Param[] | undefined;
  let orphan: Param[] | undefined;
  for (const r of rows) {
    if (taken.has(pk(r))) {
      duplicate = r;
      break;
    }
    if (dialect === "sqlite" && !models.has(r[0] as string)) return "(sqlite3.IntegrityError) FOREIGN KEY constraint failed";
    taken.add(pk(r));
    if (!models.has(r[0] as string)) orphan ??= r;
  }
  if (duplicate) {
    const columns = ["model_id", "metric_name", "metric_timestamp_ms", "metric_step", "run_id"];
    const values = [duplicate[0], duplicate[1], duplicate[2], duplicate[3], duplicate[6]].map(String);
    return uniqueViolation(dialect, "logged_model_metrics", "logged_model_metrics_pk", columns, values);
  }
  if (orphan) {
    return (
      `(psycopg2.errors.ForeignKeyViolation) insert or update on table "logged_model_metrics" violates foreign key constraint ` +
      `"fk_logged_model_metrics_model_id"\nDETAIL:  Key (model_id)=(${orphan[0]}) is not present in table "logged_models".\n`
    );
  }
  return undefined;
}
