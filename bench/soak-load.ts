// The soak's mixed read/write load: `clients` concurrent loops, each cycling through the calls
// an MLflow user's training jobs and UI make (runs, metrics, searches, the registry, artifacts),
// every call expected to answer 2xx. Any other answer, or a failed connection, is an error.

export interface LoadStats {
  requests: number;
  errors: number;
  /** The first few errors, for the report. */
  errorSamples: string[];
  byOp: Record<string, { count: number; p50Ms: number; p99Ms: number; maxMs: number }>;
}

type Call = { op: string; method: string; path: string; body?: unknown; raw?: string };

const MAX_ERROR_SAMPLES = 10;

/** Per-op latencies kept in a bounded reservoir, so a long soak's own memory stays flat. */
class Latencies {
  private readonly kept: number[] = [];
  count = 0;
  max = 0;
  add(ms: number): void {
    this.count++;
    this.max = Math.max(this.max, ms);
    if (this.kept.length < 5000) this.kept.push(ms);
    else this.kept[Math.floor(Math.random() * this.count) % 5000] = ms;
  }
  summary() {
    const s = [...this.kept].sort((a, b) => a - b);
    const q = (p: number) => Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 10) / 10;
    return { count: this.count, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: Math.round(this.max * 10) / 10 };
  }
}

export class SoakLoad {
  private readonly latencies = new Map<string, Latencies>();
  requests = 0;
  errors = 0;
  readonly errorSamples: string[] = [];

  constructor(private readonly url: string) {}

  private async call(c: Call): Promise<any> {
    const t0 = performance.now();
    this.requests++;
    let status = 0;
    let text = "";
    try {
      let target = `${this.url}${c.path}`;
      const init: RequestInit = { method: c.method };
      if (c.raw !== undefined) init.body = c.raw;
      else if (c.body !== undefined && c.method === "GET") target += `?${new URLSearchParams(c.body as Record<string, string>)}`;
      else if (c.body !== undefined) {
        init.body = JSON.stringify(c.body);
        init.headers = { "content-type": "application/json" };
      }
      const res = await fetch(target, init);
      status = res.status;
      text = await res.text();
    } catch (e) {
      text = (e as Error).message;
    }
    let lat = this.latencies.get(c.op);
    if (!lat) this.latencies.set(c.op, (lat = new Latencies()));
    lat.add(performance.now() - t0);
    if (status < 200 || status > 299) {
      this.errors++;
      if (this.errorSamples.length < MAX_ERROR_SAMPLES) this.errorSamples.push(`${c.op}: ${status || "no answer"} ${text.slice(0, 300)}`);
      return undefined;
    }
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      return text;
    }
  }

  private api = (op: string, method: string, rpc: string, body?: unknown) => this.call({ op, method, path: `/api/2.0/mlflow/${rpc}`, body });

  /** The experiment and registered model every client writes to. */
  async setup(tag: string): Promise<{ experimentId: string; model: string }> {
    const exp = await this.api("setup", "POST", "experiments/create", { name: `soak-${tag}` });
    const model = `soak-model-${tag}`;
    await this.api("setup", "POST", "registered-models/create", { name: model });
    if (!exp) throw new Error(`soak setup failed: ${this.errorSamples.join("; ")}`);
    return { experimentId: exp.experiment_id, model };
  }

  /** One client: runs until `deadline` (performance.now() ms), one call at a time. */
  async client(id: number, experimentId: string, model: string, deadline: number): Promise<void> {
    let runId: string | undefined;
    for (let i = 0; performance.now() < deadline; i++) {
      // A fresh run every 50 iterations: runs accumulate as they do on a real server.
      if (!runId || i % 50 === 0) {
        const created = await this.api("runs/create", "POST", "runs/create", { experiment_id: experimentId, start_time: Date.now(), tags: [{ key: "client", value: String(id) }] });
        runId = created?.run?.info?.run_id;
        if (!runId) continue;
        await this.api("runs/log-parameter", "POST", "runs/log-parameter", { run_id: runId, key: "lr", value: String(i) });
      }
      const now = Date.now();
      switch (i % 10) {
        case 0:
        case 5:
          await this.api("runs/log-batch", "POST", "runs/log-batch", {
            run_id: runId,
            metrics: Array.from({ length: 20 }, (_, k) => ({ key: `m${k % 5}`, value: Math.sin(i + k), timestamp: now, step: i * 4 + (k % 4) })),
            tags: [{ key: "phase", value: `p${i % 3}` }],
          });
          break;
        case 1:
          await this.api("runs/log-metric", "POST", "runs/log-metric", { run_id: runId, key: "loss", value: 1 / (i + 1), timestamp: now, step: i });
          break;
        case 2:
          await this.api("runs/get", "GET", "runs/get", { run_id: runId });
          break;
        case 3:
          await this.api("runs/search", "POST", "runs/search", { experiment_ids: [experimentId], filter: "metrics.loss < 0.5", max_results: 50, order_by: ["metrics.loss ASC"] });
          break;
        case 4:
          await this.api("metrics/get-history", "GET", "metrics/get-history", { run_id: runId, metric_key: "m1", max_results: "1000" });
          break;
        case 6:
          await this.api("experiments/search", "POST", "experiments/search", { max_results: 100 });
          break;
        case 7:
          if (i % 20 === 7) await this.api("model-versions/create", "POST", "model-versions/create", { name: model, source: `s3://soak/${id}/${i}` });
          else await this.api("model-versions/search", "GET", "model-versions/search", { filter: `name = '${model}'`, max_results: "50" });
          break;
        case 8: {
          const path = `/api/2.0/mlflow-artifacts/artifacts/soak/${id}/${i % 20}.txt`;
          await this.call({ op: "artifacts/upload", method: "PUT", path, raw: `client ${id} iteration ${i}\n`.repeat(64) });
          await this.call({ op: "artifacts/download", method: "GET", path });
          break;
        }
        case 9:
          await this.api("runs/set-tag", "POST", "runs/set-tag", { run_id: runId, key: "note", value: `i=${i}` });
          break;
      }
    }
  }

  stats(): LoadStats {
    const byOp: LoadStats["byOp"] = {};
    for (const [op, lat] of [...this.latencies].sort(([a], [b]) => a.localeCompare(b))) byOp[op] = lat.summary();
    return { requests: this.requests, errors: this.errors, errorSamples: this.errorSamples, byOp };
  }
}
