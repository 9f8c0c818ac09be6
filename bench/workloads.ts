// The data set every server gets (built through its own REST API, or cloned) and the workloads.
// A workload's request is a template rendered per request by the load generator (wrk's Lua or
// the Bun fallback, the same rules in both):
//   {run}   a run id drawn at random from the workload's `runs`
//   {tid}   the load-generator thread (keys are per thread, so two threads never collide)
//   {c}     the request counter of the thread
//   {step:N} c * stepStride + N
//   {rand}  a random float in [0, 1)     {now}  the time in ms
import { readFileSync } from "node:fs";

export interface Scale {
  /** Runs in the scale experiment (10 params, 10 tags, 20 metrics × metricSteps each). */
  runs: number;
  metricSteps: number;
  /** One run with one metric of this many steps (GetMetricHistory). */
  historyPoints: number;
  /** get-history-bulk-interval: this many runs × this many steps. */
  bulkRuns: number;
  bulkSteps: number;
  /** max_results of the run searches (100; smoke uses less so that page 10 exists). */
  pageSize: number;
}

export interface Dataset {
  smallExperiment: string;
  searchExperiment: string;
  scaleExperiment: string;
  /** Runs the write workloads log into. */
  writeRuns: string[];
  /** A sample of the scale experiment's runs (GetRun). */
  scaleSample: string[];
  /** Runs in the scale experiment. */
  scaleRuns: number;
  historyRun: string;
  bulkRuns: string[];
  /** How the scale data got there and how long it took. */
  build: { how: string; seconds: number; requests: number };
}

export interface Workload {
  name: string;
  method: "GET" | "POST";
  /** Path (with query for GET); may hold placeholders. */
  path: string;
  body?: string;
  runs?: string[];
  stepStride?: number;
  concurrency: number;
  /** A longer window for slow requests (wrk drops the ones still running when it closes). */
  minSeconds?: number;
  /** Runs against the floor (postgres.js straight to the database) too. */
  floor?: "create-run" | "log-batch" | "log-metric";
  /** Items per request for the floor's log-batch: metrics, params. */
  floorItems?: { metrics: number; params: number };
}

export const SCALE_FILTER = "metrics.m1 > 0.5 AND params.p1 = 'v3'";
export const SCALE_ORDER = "metrics.m2 DESC";

const api = "/api/2.0/mlflow";

function metricItems(n: number, keys: number): string {
  const items: string[] = [];
  for (let i = 0; i < n; i++) {
    items.push(`{"key":"t{tid}_m${i % keys}","value":{rand},"timestamp":{now},"step":{step:${Math.floor(i / keys)}}}`);
  }
  return items.join(",");
}

function paramItems(n: number): string {
  const items: string[] = [];
  for (let i = 0; i < n; i++) items.push(`{"key":"t{tid}_c{c}_p${i}","value":"v${i}"}`);
  return items.join(",");
}

/** The workloads, in table order. `pageToken10` is the server's own token for page 10. */
export function workloads(d: Dataset, concurrency: number, writers: number, pageToken10: string | undefined, pageSize = 100): Workload[] {
  const search = (exp: string, filter: string, token?: string) =>
    JSON.stringify({ experiment_ids: [exp], filter, order_by: [SCALE_ORDER], max_results: pageSize, ...(token ? { page_token: token } : {}) });
  const list: Workload[] = [
    {
      name: "CreateRun", method: "POST", path: `${api}/runs/create`, concurrency, floor: "create-run",
      body: `{"experiment_id":"${d.smallExperiment}","start_time":{now},"tags":[{"key":"bench","value":"t{tid}"}]}`,
    },
    {
      name: "LogMetricBatch10", method: "POST", path: `${api}/runs/log-batch`, concurrency, runs: d.writeRuns, stepStride: 1,
      body: `{"run_id":"{run}","metrics":[${metricItems(10, 10)}]}`, floor: "log-batch", floorItems: { metrics: 10, params: 0 },
    },
    {
      name: "LogMetricBatch1000", method: "POST", path: `${api}/runs/log-batch`, concurrency, runs: d.writeRuns, stepStride: 100,
      body: `{"run_id":"{run}","metrics":[${metricItems(1000, 10)}]}`, floor: "log-batch", floorItems: { metrics: 1000, params: 0 },
    },
    {
      name: "LogParamBatch10", method: "POST", path: `${api}/runs/log-batch`, concurrency, runs: d.writeRuns,
      body: `{"run_id":"{run}","params":[${paramItems(10)}]}`, floor: "log-batch", floorItems: { metrics: 0, params: 10 },
    },
    {
      name: "LogParamBatch100", method: "POST", path: `${api}/runs/log-batch`, concurrency, runs: d.writeRuns,
      body: `{"run_id":"{run}","params":[${paramItems(100)}]}`, floor: "log-batch", floorItems: { metrics: 0, params: 100 },
    },
    { name: "SearchExperiments", method: "POST", path: `${api}/experiments/search`, concurrency, body: `{"max_results":100}` },
    { name: "SearchRuns", method: "POST", path: `${api}/runs/search`, concurrency, body: search(d.searchExperiment, "metrics.m1 > 0.5") },
    { name: "SearchRunsScale", method: "POST", path: `${api}/runs/search`, concurrency, body: search(d.scaleExperiment, SCALE_FILTER) },
  ];
  if (pageToken10) {
    const body = JSON.stringify({ experiment_ids: [d.scaleExperiment], filter: SCALE_FILTER, order_by: [SCALE_ORDER], max_results: page10Size(d), page_token: pageToken10 });
    list.push({ name: "SearchRunsScalePage10", method: "POST", path: `${api}/runs/search`, concurrency, body });
  }
  list.push(
    { name: "GetRun", method: "GET", path: `${api}/runs/get?run_id={run}`, concurrency, runs: d.scaleSample },
    { name: "GetMetricHistory25k", method: "GET", path: `${api}/metrics/get-history?run_id=${d.historyRun}&metric_key=long`, concurrency, minSeconds: 5 },
    {
      name: "GetHistoryBulkInterval", method: "GET", concurrency, minSeconds: 5,
      path: `/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?${d.bulkRuns.map((r) => `run_ids=${r}`).join("&")}&metric_key=hist&max_results=320`,
    },
    {
      name: `LogMetric x${writers} writers`, method: "POST", path: `${api}/runs/log-metric`, concurrency: writers, runs: d.writeRuns, stepStride: 1,
      body: `{"run_id":"{run}","key":"t{tid}_w","value":{rand},"timestamp":{now},"step":{step:0}}`, floor: "log-metric",
    },
  );
  return list;
}

// ---------------------------------------------------------------------------------------------
// Building the data set through a server's API.

class Client {
  requests = 0;
  constructor(readonly url: string) {}
  async call(method: string, path: string, body?: unknown): Promise<any> {
    for (let attempt = 0; ; attempt++) {
      this.requests++;
      let res: Response;
      try {
        res = await fetch(this.url + path, {
          method,
          headers: body === undefined ? {} : { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (e) {
        // a keep-alive connection the server closed meanwhile (uvicorn drops idle ones after 5 s)
        if (attempt < 3) continue;
        throw e;
      }
      const text = await res.text();
      if (res.ok) return text ? JSON.parse(text) : {};
      // SQLite's "database is locked" and connection hiccups: retry a few times
      if (attempt < 3 && res.status >= 500) {
        await Bun.sleep(200 * (attempt + 1));
        continue;
      }
      throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
    }
  }
  post = (path: string, body: unknown) => this.call("POST", `${api}${path}`, body);
}

async function pool<T>(items: T[], parallel: number, f: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await f(items[i]!, i);
      }
    }),
  );
}

/** Deterministic pseudo-random numbers (mulberry32), so every server gets the same values. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function experiment(c: Client, name: string): Promise<string> {
  return (await c.post("/experiments/create", { name })).experiment_id;
}

async function createRun(c: Client, exp: string, tags: { key: string; value: string }[] = []): Promise<string> {
  const r = await c.post("/runs/create", { experiment_id: exp, start_time: Date.now(), tags });
  return r.run.info.run_id;
}

async function logSeries(c: Client, runId: string, key: string, steps: number, random: () => number): Promise<void> {
  const now = Date.now();
  for (let from = 0; from < steps; from += 1000) {
    const metrics = [];
    for (let s = from; s < Math.min(steps, from + 1000); s++) metrics.push({ key, value: random(), timestamp: now + s, step: s });
    await c.post("/runs/log-batch", { run_id: runId, metrics });
  }
}

/** Builds the whole data set through the server's REST API (log-batch, ≤1000 items per request). */
export async function buildDataset(url: string, scale: Scale, parallel: number, log: (s: string) => void): Promise<Dataset> {
  const c = new Client(url);
  const t0 = performance.now();
  const random = rng(42);
  const smallExperiment = await experiment(c, "bench-small");
  const searchExperiment = await experiment(c, "bench-search");
  const scaleExperiment = await experiment(c, "bench-scale");
  for (let i = 0; i < 50; i++) await experiment(c, `bench-exp-${i}`);
  const writeRuns: string[] = [];
  for (let i = 0; i < 64; i++) writeRuns.push(await createRun(c, smallExperiment));

  // small search data: 200 runs, 5 params, 5 tags, 5 metrics
  await pool(Array.from({ length: 200 }, (_, i) => i), parallel, async (i) => {
    const tags = Array.from({ length: 5 }, (_, j) => ({ key: `tag${j}`, value: `t${(i + j) % 7}` }));
    const id = await createRun(c, searchExperiment, tags);
    const now = Date.now();
    await c.post("/runs/log-batch", {
      run_id: id,
      params: Array.from({ length: 5 }, (_, j) => ({ key: `p${j}`, value: `v${(i * 7 + j) % 10}` })),
      metrics: Array.from({ length: 5 }, (_, j) => ({ key: `m${j}`, value: rng(i * 100 + j)(), timestamp: now, step: 0 })),
    });
  });

  // scale: N runs, 10 params, 10 tags, 20 metrics × metricSteps
  const scaleRuns: string[] = new Array(scale.runs);
  let done = 0;
  await pool(Array.from({ length: scale.runs }, (_, i) => i), parallel, async (i) => {
    const r = rng(1000 + i);
    const tags = Array.from({ length: 10 }, (_, j) => ({ key: `tag${j}`, value: `t${(i + j) % 13}` }));
    const id = await createRun(c, scaleExperiment, tags);
    scaleRuns[i] = id;
    const now = Date.now();
    const params = Array.from({ length: 10 }, (_, j) => ({ key: `p${j}`, value: `v${(i * 7 + j * 3) % 10}` }));
    const metrics = [];
    for (let s = 0; s < scale.metricSteps; s++) for (let j = 0; j < 20; j++) metrics.push({ key: `m${j}`, value: r(), timestamp: now + s, step: s });
    let rest = metrics;
    for (let first = true; first || rest.length; first = false) {
      const n = first ? 1000 - params.length : 1000;
      await c.post("/runs/log-batch", { run_id: id, metrics: rest.slice(0, n), ...(first ? { params } : {}) });
      rest = rest.slice(n);
    }
    if (++done % 5000 === 0) log(`  ${done}/${scale.runs} scale runs (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  });

  const historyRun = await createRun(c, smallExperiment);
  await logSeries(c, historyRun, "long", scale.historyPoints, random);
  const bulkRuns: string[] = [];
  for (let i = 0; i < scale.bulkRuns; i++) bulkRuns.push(await createRun(c, smallExperiment));
  await pool(bulkRuns, parallel, (id, i) => logSeries(c, id, "hist", scale.bulkSteps, rng(7 + i)));

  const sample: string[] = [];
  for (let i = 0; i < Math.min(1000, scaleRuns.length); i++) sample.push(scaleRuns[Math.floor((i * scaleRuns.length) / Math.min(1000, scaleRuns.length))]!);
  return {
    smallExperiment, searchExperiment, scaleExperiment, writeRuns, scaleSample: sample, scaleRuns: scale.runs, historyRun, bulkRuns,
    build: { how: "own REST API (log-batch, ≤1000 items per request)", seconds: (performance.now() - t0) / 1000, requests: c.requests },
  };
}

/** The server's own page token for page 10 of the scale search (9 searches); undefined if it fails. */
/**
 * The page size of the page-10 workload: 100, unless the scale experiment has too few matching
 * runs for 10 such pages (the filter matches ≈5% of the runs), as in quick and smoke runs.
 */
export function page10Size(d: Dataset): number {
  return Math.max(1, Math.min(100, Math.floor((d.scaleRuns * 0.045) / 10)));
}

export async function pageTenToken(url: string, d: Dataset): Promise<string | undefined> {
  const pageSize = page10Size(d);
  const c = new Client(url);
  let token: string | undefined;
  for (let page = 1; page < 10; page++) {
    const r = await c.post("/runs/search", { experiment_ids: [d.scaleExperiment], filter: SCALE_FILTER, order_by: [SCALE_ORDER], max_results: pageSize, ...(token ? { page_token: token } : {}) });
    token = r.next_page_token;
    if (!token) return undefined;
  }
  return token;
}

/** The machine's CPU use (0..1 of all cores) over `ms`, from /proc/stat. */
async function cpuBusy(ms: number): Promise<number> {
  const read = () => {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await Bun.sleep(ms);
  const b = read();
  return b.total === a.total ? 0 : 1 - (b.idle - a.idle) / (b.total - a.total);
}

/**
 * Waits (up to maxSeconds) until the machine is quiet: below a quarter of its CPU for 500 ms.
 * A server answers the drain's probes while other threads of it, or PostgreSQL backends, still
 * work through the previous window's abandoned requests (MLflow's Flask handlers run in a thread
 * pool): a full run measured the next server's 100k-run search at 0 req/s behind them.
 */
export async function quietMachine(maxSeconds: number): Promise<number> {
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < maxSeconds && (await cpuBusy(500)) >= 0.25);
  return (performance.now() - t0) / 1000;
}

/**
 * Waits until the server answers a database-backed request quickly again (work queued by the
 * previous workload, e.g. slow requests still running after the load generator stopped, must
 * not be billed to the next one). Returns the seconds waited.
 */
export async function drain(url: string, maxSeconds = 120): Promise<number> {
  const t0 = performance.now();
  // Three quick answers in a row, 150 ms apart: one quick answer can slip in while the queued
  // requests wait for the database, and the next workload then stalls behind them (seen: GetRun
  // p99 600 ms right after the history reads, 6 ms a few seconds later).
  for (let quick = 0; quick < 3 && (performance.now() - t0) / 1000 < maxSeconds; ) {
    const s = performance.now();
    try {
      const res = await fetch(`${url}${api}/experiments/search`, {
        method: "POST", body: '{"max_results":1}', headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(maxSeconds * 1000),
      });
      await res.arrayBuffer();
    } catch {}
    quick = performance.now() - s < 250 ? quick + 1 : 0;
    if (quick < 3) await Bun.sleep(150);
  }
  return (performance.now() - t0) / 1000;
}
