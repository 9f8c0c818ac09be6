// The floor under the write paths: the SQL statements mlflow-bun issues for create-run,
// log-batch and log-metric (copied from src/store/runs.ts, metrics.ts, experiments.ts: same
// statements, same order, one transaction each, prepared, unsafe() with parameters as
// mlflow-bun's postgres driver does), executed by postgres.js straight against PostgreSQL with
// the workload's concurrency — no HTTP, no parsing, no validation. The gap between this row and
// mlflow-bun's is the server's overhead.
//
//   bun bench/floor.ts config.json   with {dbUrl, kind, concurrency, seconds, experimentId, runs,
//                                          metrics, params}
// prints one BENCH_JSON line like the load generators.
import postgres from "postgres";

interface Config {
  dbUrl: string;
  kind: "create-run" | "log-batch" | "log-metric";
  concurrency: number;
  seconds: number;
  experimentId: string;
  runs: string[];
  metrics: number;
  params: number;
}

const RUN_COLUMNS = `runs.run_uuid, runs.name, runs.user_id, runs.status, runs.start_time, runs.end_time,
  runs.artifact_uri, runs.lifecycle_stage, runs.experiment_id`;
const EXP_COLUMNS = `experiments.experiment_id, experiments.name, experiments.artifact_location, experiments.lifecycle_stage,
  experiments.creation_time, experiments.last_update_time, experiments.workspace`;

function placeholders(rows: number, cols: number, from = 1): string {
  const out: string[] = [];
  let i = from;
  for (let r = 0; r < rows; r++) out.push(`(${Array.from({ length: cols }, () => `$${i++}`).join(", ")})`);
  return out.join(", ");
}

export async function run(cfg: Config): Promise<Record<string, number>> {
  const sql = postgres(cfg.dbUrl, {
    max: cfg.concurrency,
    onnotice: () => {},
    types: { bigint: { to: 20, from: [20], parse: (x: string) => Number(x), serialize: (x: number) => String(x) } },
  });
  const q = (t: postgres.TransactionSql | postgres.Sql | postgres.Sql<{}>, text: string, params: any[] = []) => t.unsafe(text, params, { prepare: true });

  async function createRun(tid: number, c: number): Promise<void> {
    await sql.begin(async (t) => {
      const [exp] = await q(t, `
      SELECT ${EXP_COLUMNS} FROM experiments
      WHERE experiments.experiment_id = $1 AND experiments.lifecycle_stage IN ('active', 'deleted')
        AND experiments.workspace = $2`, [Number(cfg.experimentId), "default"]);
      if (exp!.lifecycle_stage !== "active") throw new Error("experiment not active");
      const runId = crypto.randomUUID().replace(/-/g, "");
      const artifactUri = `${exp!.artifact_location}/${runId}/artifacts`;
      const name = `floor-${tid}-${c}`;
      await q(t, `
        INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time,
          deleted_time, source_version, lifecycle_stage, artifact_uri, experiment_id)
        VALUES ($1, $2, 'UNKNOWN', '', '', $3, 'RUNNING', $4, NULL,
          NULL, '', 'active', $5, $6)`, [runId, name, "", Date.now(), artifactUri, Number(cfg.experimentId)]);
      await q(t, `INSERT INTO tags (key, value, run_uuid) VALUES ${placeholders(2, 3)}`, ["bench", `t${tid}`, runId, "mlflow.runName", name, runId]);
    });
  }

  async function logBatch(tid: number, c: number, nMetrics: number, nParams: number, stride: number): Promise<void> {
    const runId = cfg.runs[Math.floor(Math.random() * cfg.runs.length)]!;
    await sql.begin(async (t) => {
      const [run] = await q(t, `SELECT ${RUN_COLUMNS} FROM runs WHERE runs.run_uuid = $1`, [runId]);
      if (!run || run.lifecycle_stage !== "active") throw new Error("run not active");
      if (nParams) {
        const keys = Array.from({ length: nParams }, (_, i) => `f${tid}_c${c}_p${i}`);
        const values = keys.flatMap((k, i) => [k, `v${i}`, runId]);
        await q(t, `INSERT INTO params (key, value, run_uuid) VALUES ${placeholders(nParams, 3)} ON CONFLICT DO NOTHING`, values);
        const stored = await q(t, `
          SELECT key, value FROM params WHERE run_uuid = $1 AND ${keys.length === 1 ? "key = $2" : "key = ANY ($2::text[])"}`, [runId, keys.length === 1 ? keys[0] : keys]);
        if (stored.length !== nParams) throw new Error("params not stored");
      }
      if (nMetrics) {
        const now = Date.now();
        const keys = Math.min(10, nMetrics);
        const rows = Array.from({ length: nMetrics }, (_, i) => ({
          key: nMetrics === 1 ? `f${tid}_w` : `f${tid}_m${i % keys}`, value: Math.random(), timestamp: now, step: c * stride + Math.floor(i / keys), isNan: false,
        }));
        // src/store/metrics.ts logMetrics: the rows as one JSON parameter
        const insert = `INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid)
          SELECT r.key, r.value, r.timestamp, r.step, r.is_nan, $1 FROM json_to_recordset(CAST($2::text AS json))
          AS r(key text, value float8, timestamp bigint, step bigint, is_nan boolean)`;
        const values = [runId, JSON.stringify(rows.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, step: r.step, is_nan: r.isNan })))];
        if (rows.length >= 100) {
          // src/store/metrics.ts insertOrSkipTaken (no row is ever taken here)
          await t.savepoint((sp) => q(sp, insert, values));
        } else {
          await q(t, `${insert} ON CONFLICT DO NOTHING`, values);
        }
        // _update_latest_metrics_if_necessary: the batch's newest per key, the stored rows locked
        const best = new Map<string, (typeof rows)[0]>();
        for (const r of rows) {
          const b = best.get(r.key);
          if (!b || r.step > b.step || (r.step === b.step && r.value > b.value)) best.set(r.key, r);
        }
        const candidateKeys = [...best.keys()];
        const stored = await q(t, `
    SELECT key, value, timestamp, step FROM latest_metrics
    WHERE run_uuid = $1 AND ${candidateKeys.length === 1 ? "key = $2" : "key = ANY ($2::text[])"} ORDER BY key FOR UPDATE`, [runId, candidateKeys.length === 1 ? candidateKeys[0] : candidateKeys]);
        const storedBy = new Map(stored.map((s) => [s.key as string, s]));
        const changed = [...best.values()].filter((r) => {
          const s = storedBy.get(r.key);
          return !s || r.step > Number(s.step) || (r.step === Number(s.step) && (r.timestamp > Number(s.timestamp) || (r.timestamp === Number(s.timestamp) && r.value > s.value)));
        });
        if (changed.length) {
          await q(t, `
    INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ${placeholders(changed.length, 6)}
    ON CONFLICT (key, run_uuid) DO UPDATE SET
      value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan
    WHERE (excluded.step, excluded.timestamp, excluded.value) > (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)`,
            changed.flatMap((r) => [r.key, r.value, r.timestamp, r.step, r.isNan, runId]));
        }
      }
    });
  }

  const op =
    cfg.kind === "create-run" ? createRun
    : cfg.kind === "log-metric" ? (tid: number, c: number) => logBatch(tid, c, 1, 0, 1)
    : (tid: number, c: number) => logBatch(tid, c, cfg.metrics, cfg.params, cfg.metrics >= 10 ? cfg.metrics / 10 : 1);

  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  let firstError = "";
  const t0 = performance.now();
  const deadline = t0 + cfg.seconds * 1000;
  await Promise.all(
    Array.from({ length: cfg.concurrency }, async (_, tid) => {
      for (let c = 1; performance.now() < deadline; c++) {
        const start = performance.now();
        try {
          await op(tid, c);
        } catch (e) {
          errors++;
          firstError ||= String(e);
        }
        latencies.push(performance.now() - start);
        requests++;
      }
    }),
  );
  const duration = performance.now() - t0;
  await sql.end({ timeout: 5 });
  if (firstError) console.error(`floor error: ${firstError}`);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))]! : 0);
  return { requests, duration_us: duration * 1000, connect: 0, read: 0, write: 0, status: errors, timeout: 0, p50_us: pct(50) * 1000, p99_us: pct(99) * 1000 };
}

if (import.meta.main) {
  const cfg: Config = JSON.parse(await Bun.file(process.argv[2]!).text());
  console.log(`BENCH_JSON ${JSON.stringify(await run(cfg))}`);
}
