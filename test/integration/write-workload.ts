// A stream of writes from several concurrent clients (log-metric, log-batch, create-run,
// create-model-version) that remembers which were acknowledged (200), and the check that the
// database holds every acknowledged write and no partial batch. Shared by db-outage.test.ts and
// crash-consistency.test.ts, which disturb the database or the server while it runs.
import { expect } from "bun:test";

export const MODEL = "workload-model";
const BATCH_PARAMS = 3;
const BATCH_METRICS = 4;

export interface Ledger {
  metrics: { runId: string; key: string; step: number }[];
  /** Every batch sent, and whether it was acknowledged. */
  batches: { runId: string; marker: string; acked: boolean }[];
  runs: string[];
  versions: number[];
  /** Answers other than 200, by status and error code (e.g. "503 TEMPORARILY_UNAVAILABLE"). */
  failures: Map<string, number>;
  /** Requests that got no HTTP answer at all (the server was gone). */
  unanswered: number;
  ok: number;
}

export interface Target {
  /** The server's base URL now (it may change across restarts). */
  url(): string;
}

async function post(url: string, path: string, body: unknown, timeoutMs: number): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/2.0/mlflow/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

/** An experiment with a run per writer, and the registered model, created through the API. */
export interface Seeded {
  experimentId: string;
  runIds: string[];
}

export async function seed(url: string, writers: number): Promise<Seeded> {
  const exp = await post(url, "experiments/create", { name: `workload-${crypto.randomUUID()}` }, 30_000);
  expect(exp.status).toBe(200);
  const runIds: string[] = [];
  for (let w = 0; w < writers; w++) {
    const run = await post(url, "runs/create", { experiment_id: exp.body.experiment_id, start_time: 1 }, 30_000);
    expect(run.status).toBe(200);
    runIds.push(run.body.run.info.run_id);
  }
  expect((await post(url, "registered-models/create", { name: MODEL }, 30_000)).status).toBe(200);
  return { experimentId: exp.body.experiment_id, runIds };
}

export interface Writers {
  ledger: Ledger;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<Ledger>;
}

/**
 * Starts a client per seeded run, each writing in a loop until stopped. A request that gets
 * no answer within timeoutMs fails the test (a hung socket), unless `unansweredOk` (the server
 * was killed: the connection is refused or reset, which is no hang).
 */
export function startWriters(target: Target, { experimentId, runIds }: Seeded, options: { timeoutMs: number; unansweredOk: boolean }): Writers {
  const ledger: Ledger = { metrics: [], batches: [], runs: [], versions: [], failures: new Map(), unanswered: 0, ok: 0 };
  let stopping = false;
  const hangs: string[] = [];

  const send = async (path: string, body: unknown): Promise<any | undefined> => {
    let r: { status: number; body: any };
    try {
      r = await post(target.url(), path, body, options.timeoutMs);
    } catch (e: any) {
      if (e?.name === "TimeoutError") hangs.push(`${path}: no answer within ${options.timeoutMs} ms`);
      else if (!options.unansweredOk) hangs.push(`${path}: ${e}`);
      ledger.unanswered++;
      await Bun.sleep(20); // the server is gone or restarting: do not spin
      return undefined;
    }
    if (r.status === 200) {
      ledger.ok++;
      return r.body;
    }
    const what = `${r.status} ${r.body?.error_code ?? JSON.stringify(r.body).slice(0, 200)}`;
    ledger.failures.set(what, (ledger.failures.get(what) ?? 0) + 1);
    await Bun.sleep(5);
    return undefined;
  };

  const writer = async (w: number) => {
    const runId = runIds[w]!;
    for (let i = 0; !stopping; i++) {
      switch (i % 4) {
        case 0: {
          const key = `lm_${w}`;
          if (await send("runs/log-metric", { run_id: runId, key, value: i, timestamp: 1, step: i })) ledger.metrics.push({ runId, key, step: i });
          break;
        }
        case 1: {
          const marker = `${w}_${i}_${crypto.randomUUID().slice(0, 8)}`;
          const batch = { runId, marker, acked: false };
          ledger.batches.push(batch);
          const body = {
            run_id: runId,
            params: Array.from({ length: BATCH_PARAMS }, (_, j) => ({ key: `bp_${marker}_${j}`, value: String(j) })),
            metrics: Array.from({ length: BATCH_METRICS }, (_, j) => ({ key: `bm_${marker}_${j}`, value: j, timestamp: 1, step: 0 })),
          };
          if (await send("runs/log-batch", body)) batch.acked = true;
          break;
        }
        case 2: {
          const created = await send("runs/create", { experiment_id: experimentId, start_time: 1 });
          if (created) ledger.runs.push(created.run.info.run_id);
          break;
        }
        default: {
          const created = await send("model-versions/create", { name: MODEL, source: `s3://b/${w}/${i}` });
          if (created) ledger.versions.push(Number(created.model_version.version));
        }
      }
    }
  };

  const running = Promise.all(runIds.map((_, w) => writer(w)));
  return {
    ledger,
    async stop() {
      stopping = true;
      await running;
      expect(hangs).toEqual([]);
      return ledger;
    },
  };
}

/** Waits (bounded in rounds) until `done()` holds, checking every `pauseMs`. */
export async function until(done: () => boolean, what: string, rounds = 600, pauseMs = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (done()) return;
    await Bun.sleep(pauseMs);
  }
  throw new Error(`gave up waiting for ${what}`);
}

export interface Rows {
  metrics: { run_uuid: string; key: string; step: number }[];
  params: { run_uuid: string; key: string }[];
  runs: { run_uuid: string }[];
  versions: { name: string; version: number }[];
}

/** The rows a check needs, with one query per table. */
export const QUERIES = {
  metrics: "SELECT run_uuid, key, step FROM metrics",
  params: "SELECT run_uuid, key FROM params",
  runs: "SELECT run_uuid FROM runs",
  versions: "SELECT name, version FROM model_versions",
} as const;

/**
 * Every acknowledged write is in the database; every batch is whole or absent; the model's
 * version numbers are 1..n without gaps or repeats.
 */
export function verify(ledger: Ledger, rows: Rows): void {
  const metricKeys = new Set(rows.metrics.map((m) => `${m.run_uuid}/${m.key}/${Number(m.step)}`));
  const missingMetrics = ledger.metrics.filter((m) => !metricKeys.has(`${m.runId}/${m.key}/${m.step}`));
  expect(missingMetrics).toEqual([]);

  const perMarker = new Map<string, number>();
  const count = (key: string) => {
    const m = /^b[pm]_(.+)_\d+$/.exec(key);
    if (m) perMarker.set(m[1]!, (perMarker.get(m[1]!) ?? 0) + 1);
  };
  for (const p of rows.params) count(p.key);
  for (const m of rows.metrics) count(m.key);
  const whole = BATCH_PARAMS + BATCH_METRICS;
  const partial = ledger.batches.filter((b) => ![0, whole].includes(perMarker.get(b.marker) ?? 0)).map((b) => `${b.marker}: ${perMarker.get(b.marker)} rows`);
  expect(partial).toEqual([]);
  const lostBatches = ledger.batches.filter((b) => b.acked && perMarker.get(b.marker) !== whole).map((b) => b.marker);
  expect(lostBatches).toEqual([]);

  const runIds = new Set(rows.runs.map((r) => r.run_uuid));
  expect(ledger.runs.filter((id) => !runIds.has(id))).toEqual([]);

  const versions = rows.versions.filter((v) => v.name === MODEL).map((v) => Number(v.version)).sort((a, b) => a - b);
  expect(versions).toEqual(versions.map((_, i) => i + 1));
  const stored = new Set(versions);
  expect(ledger.versions.filter((v) => !stored.has(v))).toEqual([]);
  expect(new Set(ledger.versions).size).toBe(ledger.versions.length);
}
