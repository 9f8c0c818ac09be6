// The Bun fallback load generator (used when wrk is not available): `bun bench/loadgen.ts
// config.json` with {url, workload, seconds}. One async loop per connection, keep-alive fetch,
// the same template rules as the Lua script in wrk.ts; prints one BENCH_JSON line like it.
import type { Workload } from "./workloads";

const PLACEHOLDER = /\{(\w+)(?::(\d+))?\}/g;

export async function run(url: string, w: Workload, seconds: number): Promise<Record<string, number>> {
  const deadline = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let requests = 0;
  let status = 0;
  let read = 0;
  const stride = w.stepStride ?? 1;
  const runs = w.runs ?? [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: w.concurrency }, async (_, tid) => {
      let c = 0;
      while (performance.now() < deadline) {
        c++;
        const run = runs.length ? runs[Math.floor(Math.random() * runs.length)]! : "";
        const now = String(Date.now());
        const render = (t: string) =>
          t.replace(PLACEHOLDER, (_m, name: string, n: string | undefined) => {
            switch (name) {
              case "run": return run;
              case "tid": return String(tid);
              case "c": return String(c);
              case "step": return String(c * stride + Number(n ?? 0));
              case "rand": return Math.random().toFixed(6);
              case "now": return now;
              default: return _m;
            }
          });
        const start = performance.now();
        try {
          const res = await fetch(url + render(w.path), {
            method: w.method,
            headers: { "content-type": "application/json" },
            body: w.body === undefined ? undefined : render(w.body),
            signal: AbortSignal.timeout(60_000),
          });
          await res.arrayBuffer();
          if (res.status > 399) status++;
        } catch {
          read++;
        }
        latencies.push(performance.now() - start);
        requests++;
      }
    }),
  );
  const duration = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))]! : 0);
  return {
    requests, duration_us: duration * 1000, connect: 0, read, write: 0, status, timeout: 0,
    p50_us: pct(50) * 1000, p99_us: pct(99) * 1000,
  };
}

if (import.meta.main) {
  const { url, workload, seconds } = JSON.parse(await Bun.file(process.argv[2]!).text());
  const r = await run(url, workload, seconds);
  console.log(`BENCH_JSON ${JSON.stringify(r)}`);
}
