// Metric histories, the metric charts' hot path: sqlalchemy_store.py's get_metric_history,
// get_metric_history_bulk and get_metric_history_bulk_interval (with
// _sample_metric_history_single_run), each in a constant number of statements. (MLflow's
// GET_METRIC_HISTORY_MAX_RESULTS is the Python client's page size, not a server limit.)
import { MlflowError } from "../errors";
import { sqlInteger } from "../search/experiments";
import type { Db, Dialect } from "./db";
import { inIds } from "./run-view";
import { type Fragment, join, raw, sql } from "./sql";

/**
 * `metrics` for lookups by run: SQLite's planner, without statistics, prefers the covering
 * primary key (key, timestamp, ...) and so reads the key's rows in every run; the
 * (run_uuid, key, step) index reads only the runs asked for.
 */
const metricsByRun = (dialect: Dialect): Fragment =>
  raw(dialect === "sqlite" ? "metrics INDEXED BY index_metrics_run_uuid_key_step" : "metrics");

/** A metric's value at one step (MLflow's Metric message); NaN restored from is_nan. */
export interface MetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** MLflow's MetricWithRunId. */
export interface RunMetricPoint extends MetricPoint {
  run_id: string;
}

const isTrue = (v: unknown) => v === true || v === 1 || v === "1";
const valueOf = (r: any) => (isTrue(r.is_nan) ? NaN : Number(r.value));
// The key is the one asked for (matched exactly), so rows do not carry it: one string per
// response instead of one per row, as the responses are tens of thousands of rows.
const point = (key: string) => (r: any): MetricPoint => ({ key, value: valueOf(r), timestamp: Number(r.timestamp), step: Number(r.step) });
const runPoint = (key: string) => (r: any): RunMetricPoint => ({
  key, value: valueOf(r), timestamp: Number(r.timestamp), step: Number(r.step), run_id: r.run_uuid,
});

/** SQLite reads a negative LIMIT as "no limit" and OFFSET as 0; PostgreSQL refuses both. */
function checkRowCount(dialect: Dialect, what: "LIMIT" | "OFFSET", n: number): void {
  if (n < 0 && dialect === "postgres") {
    const error = what === "LIMIT" ? "InvalidRowCountInLimitClause" : "InvalidRowCountInResultOffsetClause";
    throw new MlflowError(`(psycopg2.errors.${error}) ${what} must not be negative`, "BAD_REQUEST");
  }
}

/**
 * get_metric_history: all values of a metric in a run, by timestamp, step, value; a page of
 * `maxResults` from the token's offset when asked (the next token when more rows exist).
 * A missing run is no error: MLflow's _validate_run_accessible is a no-op outside workspaces.
 */
export async function metricHistory(db: Db, runId: string, key: string, maxResults: number | undefined, offset: number): Promise<{ metrics: MetricPoint[]; nextOffset?: number }> {
  checkRowCount(db.dialect, "OFFSET", offset);
  // Without max_results there is no LIMIT (SQLite needs one before OFFSET: -1, as SQLAlchemy writes).
  const limit: Fragment = maxResults === undefined ? raw(db.dialect === "sqlite" ? "-1" : "ALL") : sql`${maxResults + 1}`;
  const rows = await db.all(sql`
    SELECT value, timestamp, step, is_nan FROM ${metricsByRun(db.dialect)}
    WHERE run_uuid = ${runId} AND key = ${key}
    ORDER BY timestamp, step, value
    LIMIT ${limit} OFFSET ${sqlInteger(BigInt(offset), db.dialect)}`);
  if (maxResults !== undefined && rows.length === maxResults + 1) {
    return { metrics: rows.slice(0, maxResults).map(point(key)), nextOffset: offset + maxResults };
  }
  return { metrics: rows.map(point(key)) };
}

/**
 * get_metric_history_bulk (the UI's ajax get-history-bulk): the metric in any of the runs,
 * by run id, timestamp, step, value, at most `limit` rows in all.
 */
export async function metricHistoryBulk(db: Db, runIds: string[], key: string, limit: number): Promise<RunMetricPoint[]> {
  checkRowCount(db.dialect, "LIMIT", limit);
  const rows = await db.all(sql`
    SELECT run_uuid, value, timestamp, step, is_nan FROM ${metricsByRun(db.dialect)}
    WHERE key = ${key} AND ${inIds(db.dialect, raw("metrics.run_uuid"), runIds)}
    ORDER BY run_uuid, timestamp, step, value
    LIMIT ${limit}`);
  return rows.map(runPoint(key));
}

/**
 * The row numbers _sample_rows_with_window_functions keeps out of `n` rows (ordered by step,
 * timestamp, value, is_nan): the first row of each of NTILE(max)'s buckets, and the last row,
 * which replaces the last sample when there are already `max` of them.
 */
export function sampleIndices(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const q = Math.floor(n / max);
  const big = n % max; // NTILE gives the first n % max buckets one row more
  const firsts: number[] = [];
  for (let b = 0; b < max - 1; b++) firsts.push(b < big ? b * (q + 1) : big * (q + 1) + (b - big) * q);
  firsts.push(n - 1);
  return firsts;
}

/**
 * get_metric_history_bulk_interval: up to `maxResults` points per run, sampled as MLflow 3.18
 * samples them (see sampleIndices), runs in the order asked (repeats included).
 *
 * MLflow ranks every row with window functions, one run at a time. Here one index-only
 * aggregate counts each run's rows and distinct steps. When a run's n rows sit on n distinct
 * steps spaced evenly from lo to hi (log_metric(step=i), or every k steps), the row of rank r
 * is at step lo + r * stride, so the samples are fetched by step through the (run_uuid, key,
 * step) index. n distinct steps between lo and hi = lo + (n - 1) * stride are that lattice
 * exactly when they all lie on it: stride 1 needs no check, wider strides one more
 * index-only count. Only other runs (repeated steps) are ranked with row_number().
 * At most six statements, whatever the number of runs.
 */
export async function sampledMetricHistory(
  db: Db, runIds: string[], key: string, maxResults: number, range?: { start: bigint; end: bigint },
): Promise<RunMetricPoint[]> {
  const unique = [...new Set(runIds)];
  if (unique.length === 0) return [];
  const dialect = db.dialect;
  const steps = range ? sql` AND metrics.step >= ${sqlInteger(range.start, dialect)} AND metrics.step <= ${sqlInteger(range.end, dialect)}` : raw("");
  const aggregates = raw("count(*) AS n, count(DISTINCT metrics.step) AS d, min(metrics.step) AS lo, max(metrics.step) AS hi");
  // PostgreSQL: one (run_uuid, key, step) index range per run. Asked for all runs at once, it
  // plans from statistics, which a freshly loaded table lacks (then: a bitmap scan and a sort
  // spilling to disk, 2× slower at 100 runs × 10k steps).
  const statsQuery = dialect === "postgres"
    ? db.all(sql`
      SELECT ids.run_uuid, s.* FROM ${pgIds(unique)} CROSS JOIN LATERAL (
        SELECT ${aggregates} FROM metrics WHERE metrics.run_uuid = ids.run_uuid AND metrics.key = ${key}${steps}) s
      WHERE s.n > 0`)
    : db.all(sql`
      SELECT metrics.run_uuid, ${aggregates}
      FROM metrics WHERE metrics.key = ${key} AND ${inIds(dialect, raw("metrics.run_uuid"), unique)}${steps}
      GROUP BY metrics.run_uuid`);
  statsQuery.catch(() => {}); // awaited below, unless the guess fails first
  // PostgreSQL: while one connection counts, another fetches the samples as if every run were
  // contiguous from its first step to its last (two index probes each); kept where the counts agree.
  const guess = dialect === "postgres" ? await contiguousGuess(db, unique, key, steps) : new Map<string, Lattice>();
  const guessed = guess.size ? atLattice(db, guess, key, maxResults) : Promise.resolve([]);
  guessed.catch(() => {}); // awaited below, unless the counts fail first
  const stats = await statsQuery;
  const lattice = new Map<string, Lattice>();
  const candidates: [string, number, number][] = []; // (run, lo, stride) to check
  const ranked = new Map<string, number>(); // run -> n
  for (const r of stats) {
    const [n, d, lo, hi] = [Number(r.n), Number(r.d), Number(r.lo), Number(r.hi)];
    const stride = n > 1 ? (hi - lo) / (n - 1) : 1;
    if (d !== n || !Number.isInteger(stride)) ranked.set(r.run_uuid, n);
    else if (stride === 1) lattice.set(r.run_uuid, { n, lo, stride });
    else candidates.push([r.run_uuid, lo, stride]);
  }
  if (candidates.length) {
    const onLattice = await db.all(sql`
      SELECT wanted.run_uuid, count(*) AS n FROM ${table(dialect, candidates)}
      ${raw(dialect === "sqlite" ? "CROSS JOIN" : "JOIN")} ${metricsByRun(dialect)} ON metrics.run_uuid = wanted.run_uuid AND metrics.key = ${key}${steps} AND (metrics.step - wanted.a) % wanted.b = 0
      GROUP BY wanted.run_uuid`);
    const counted = new Map(onLattice.map((r) => [r.run_uuid as string, Number(r.n)]));
    for (const [run, lo, stride] of candidates) {
      const n = Number(stats.find((r) => r.run_uuid === run)!.n);
      if (counted.get(run) === n) lattice.set(run, { n, lo, stride });
      else ranked.set(run, n);
    }
  }

  const right = (run: string, l: Lattice) => guess.get(run)?.lo === l.lo && guess.get(run)?.n === l.n && l.stride === 1;
  const rows: any[] = (await guessed).filter((r) => lattice.has(r.run_uuid) && right(r.run_uuid, lattice.get(r.run_uuid)!));
  rows.push(...(await atLattice(db, new Map([...lattice].filter(([run, l]) => !right(run, l))), key, maxResults)));
  const byRank: [string, number][] = [];
  for (const [run, n] of ranked) for (const i of sampleIndices(n, maxResults)) byRank.push([run, i]);
  if (byRank.length) {
    rows.push(...(await db.all(sql`
      SELECT ranked.* FROM ${table(dialect, byRank)} JOIN (
        SELECT metrics.run_uuid, metrics.value, metrics.timestamp, metrics.step, metrics.is_nan,
          row_number() OVER (PARTITION BY metrics.run_uuid ORDER BY metrics.step, metrics.timestamp, metrics.value, metrics.is_nan) - 1 AS rn
        FROM ${metricsByRun(dialect)} WHERE metrics.key = ${key} AND ${inIds(dialect, raw("metrics.run_uuid"), [...ranked.keys()])}${steps}
      ) ranked ON ranked.run_uuid = wanted.run_uuid AND ranked.rn = wanted.a`)));
  }
  // Per run, in MLflow's order: step, timestamp, value, is_nan; that is the rank.
  const perRun = new Map<string, { rank: number; p: RunMetricPoint }[]>();
  const toPoint = runPoint(key);
  for (const r of rows) {
    const l = lattice.get(r.run_uuid);
    const rank = l ? (Number(r.step) - l.lo) / l.stride : Number(r.rn);
    let list = perRun.get(r.run_uuid);
    if (!list) perRun.set(r.run_uuid, (list = []));
    list.push({ rank, p: toPoint(r) });
  }
  for (const list of perRun.values()) list.sort((a, b) => a.rank - b.rank);
  return runIds.flatMap((id) => (perRun.get(id) ?? []).map((x) => x.p));
}

interface Lattice { n: number; lo: number; stride: number }

/** The sampled rows of runs whose rows sit one per step on a lattice, by step. */
async function atLattice(db: Db, lattice: Map<string, Lattice>, key: string, maxResults: number): Promise<any[]> {
  if (lattice.size === 0) return [];
  const stepsOf = (l: Lattice) => sampleIndices(l.n, maxResults).map((i) => l.lo + i * l.stride);
  if (db.dialect === "sqlite") {
    const pairs: [string, number][] = [...lattice].flatMap(([run, l]) => stepsOf(l).map((step): [string, number] => [run, step]));
    // CROSS JOIN keeps SQLite from scanning the metrics first and json_each once per row.
    return db.all(sql`
      SELECT metrics.run_uuid, metrics.value, metrics.timestamp, metrics.step, metrics.is_nan
      FROM ${table(db.dialect, pairs)} CROSS JOIN ${metricsByRun(db.dialect)} ON metrics.run_uuid = wanted.run_uuid AND metrics.step = wanted.a
      WHERE metrics.key = ${key}`);
  }
  // PostgreSQL: one (run_uuid, key, step) index probe per sample; LIMIT 1 (a lattice run has one
  // row per step) keeps the planner from turning the probes into a hash join over every row of
  // the runs. Runs with the same steps (same length and start, the usual case) share one array.
  // (Asked as `run_uuid = ANY(...) AND step = ANY(...)`, a table without statistics is read
  // whole, run by run, with the step list as a filter: 7.5 s instead of 0.2 s at 100 × 10k.)
  const groups = new Map<string, string[]>();
  for (const [run, l] of lattice) {
    const steps = `{${stepsOf(l).join(",")}}`;
    groups.set(steps, [...(groups.get(steps) ?? []), run]);
  }
  const parts = [...groups].map(([steps, runs]) => sql`
    SELECT m.run_uuid, m.value, m.timestamp, m.step, m.is_nan
    FROM ${pgIds(runs)} CROSS JOIN unnest(CAST(${steps}::text AS bigint[])) AS s(step) CROSS JOIN LATERAL (
      SELECT * FROM metrics WHERE metrics.run_uuid = ids.run_uuid AND metrics.key = ${key} AND metrics.step = s.step LIMIT 1) m`);
  return db.all(join(parts, " UNION ALL "));
}

/** PostgreSQL: the derived table `ids(run_uuid)` of these run ids, passed as one array. */
function pgIds(runIds: readonly string[]): Fragment {
  return sql`unnest(${[...runIds]}::text[]) AS ids(run_uuid)`;
}

/** Each run's first and last step (PostgreSQL answers min/max from the index), as a stride-1 lattice. */
async function contiguousGuess(db: Db, runIds: string[], key: string, steps: Fragment): Promise<Map<string, Lattice>> {
  const bound = (fn: string) => sql`(SELECT ${raw(fn)}(metrics.step) FROM metrics WHERE metrics.run_uuid = ids.run_uuid AND metrics.key = ${key}${steps})`;
  const rows = await db.all(sql`
    SELECT ids.run_uuid, ${bound("min")} AS lo, ${bound("max")} AS hi
    FROM ${pgIds(runIds)}`);
  return new Map(rows.filter((r) => r.lo !== null).map((r) => [r.run_uuid, { n: Number(r.hi) - Number(r.lo) + 1, lo: Number(r.lo), stride: 1 }]));
}

/** A derived table `wanted(run_uuid, a[, b])` of run ids and numbers, passed as one JSON parameter. */
function table(dialect: Dialect, values: [string, number, number?][]): Fragment {
  const json = JSON.stringify(values);
  return dialect === "sqlite"
    ? sql`(SELECT json_extract(value, '$[0]') AS run_uuid, json_extract(value, '$[1]') AS a, json_extract(value, '$[2]') AS b FROM json_each(${json})) wanted`
    : sql`(SELECT w->>0 AS run_uuid, (w->>1)::bigint AS a, (w->>2)::bigint AS b FROM jsonb_array_elements(CAST(${json}::text AS jsonb)) AS w) wanted`;
}
