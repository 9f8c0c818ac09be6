// `make soak`: mixed read/write load against the compiled binary, on PostgreSQL and on SQLite,
// for a bounded time, sampling the server's RSS, open file descriptors and PostgreSQL
// connections; fails unless every call answered 2xx and each figure stayed flat (soak-sample.ts).
// Writes bench/results/soak-<timestamp>.json and .md.
//
//   bun bench/soak.ts [--seconds N] [--dialect postgres|sqlite|both] [--clients N]
//   MLFLOW_BUN_SOAK_SECONDS (default 600, per dialect), MLFLOW_BUN_BINARY (default dist/mlflow-bun)
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { SoakLoad, type LoadStats } from "./soak-load";
import { DEFAULT_TOLERANCE, flatness, round, Sampler, type Flatness, type Sample, type Tolerance } from "./soak-sample";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const POOL_SIZE = 10;

export type Dialect = "postgres" | "sqlite";

export interface SoakOptions {
  dialect: Dialect;
  seconds: number;
  clients: number;
  sampleEveryMs: number;
  warmupSeconds: number;
  /** The server's command without its options: the compiled binary, or bun + src/cli.ts. */
  command: string[];
  tolerance?: Tolerance;
  log?: (line: string) => void;
}

export interface SoakResult {
  dialect: Dialect;
  seconds: number;
  clients: number;
  warmupSeconds: number;
  load: LoadStats;
  requestsPerSecond: number;
  flatness: Flatness[];
  /** PostgreSQL only: the most connections seen, never above the pool's size. */
  pgConnectionsMax?: number;
  poolSize?: number;
  exitCode: number | null;
  ok: boolean;
  /** Why not ok, one line each. */
  failures: string[];
  samples: Sample[];
}

/** The binary dist/ holds (MLFLOW_BUN_BINARY overrides it), else the sources through bun. */
export function defaultCommand(): string[] {
  const binary = process.env.MLFLOW_BUN_BINARY ?? `${ROOT}/dist/mlflow-bun`;
  return existsSync(binary) ? [binary] : [process.execPath, `${ROOT}/src/cli.ts`];
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("MLFLOW_")) env[k] = v;
  return env;
}

async function listening(proc: ReturnType<typeof Bun.spawn>): Promise<string> {
  let out = "";
  const decoder = new TextDecoder();
  for await (const c of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
    out += decoder.decode(c);
    const m = /mlflow-bun listening on (http:\/\/\S+)/.exec(out);
    if (m) return m[1]!;
  }
  throw new Error(`the server exited (${await proc.exited}) before listening:\n${out}\n${await new Response(proc.stderr as ReadableStream).text()}`);
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), `mlflow-bun-soak-${o.dialect}-`));
  const admin = process.env.MLFLOW_BUN_PG_URL ?? DEFAULT_PG_URL;
  const dbName = `mlflow_bun_soak_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  let uri = `sqlite:///${dir}/mlflow.db`;
  if (o.dialect === "postgres") {
    const a = postgres(admin, { max: 1, onnotice: () => {} });
    await a.unsafe(`CREATE DATABASE "${dbName}"`).finally(() => a.end());
    const u = new URL(admin);
    u.pathname = `/${dbName}`;
    uri = u.toString().replace(/^postgres(ql)?:/, "postgresql:");
  }
  const proc = Bun.spawn(
    [...o.command, "--host", "127.0.0.1", "--port", "0", "--backend-store-uri", uri, "--artifacts-destination", `${dir}/artifacts`, "--pool-size", String(POOL_SIZE)],
    { cwd: dir, env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "inherit" },
  );
  let sampler: Sampler | undefined;
  try {
    const url = await listening(proc);
    log(`${o.dialect}: ${url} (pid ${proc.pid}), ${o.clients} clients for ${o.seconds} s`);
    const load = new SoakLoad(url);
    const { experimentId, model } = await load.setup(o.dialect);
    sampler = new Sampler(proc.pid, o.dialect === "postgres" ? admin : undefined, dbName);
    await sampler.sample();
    sampler.start(o.sampleEveryMs);
    const t0 = performance.now();
    const deadline = t0 + o.seconds * 1000;
    const progress = setInterval(() => {
      const last = sampler!.samples.at(-1);
      log(`${o.dialect}: ${Math.round((performance.now() - t0) / 1000)} s, ${load.requests} requests, ${load.errors} errors, RSS ${round(last?.rssMb ?? 0)} MiB, ${last?.fds} fds${last?.pgConnections !== undefined ? `, ${last.pgConnections} pg connections` : ""}`);
    }, Math.max(5000, (o.seconds * 1000) / 20));
    await Promise.all(Array.from({ length: o.clients }, (_, i) => load.client(i, experimentId, model, deadline)));
    clearInterval(progress);
    const elapsed = (performance.now() - t0) / 1000;
    await sampler.sample();
    await sampler.stop();
    const stats = load.stats();
    const flat = flatness(sampler.samples, o.warmupSeconds, o.tolerance ?? DEFAULT_TOLERANCE);
    const failures: string[] = [];
    if (stats.errors > 0) failures.push(`${stats.errors} of ${stats.requests} requests failed, e.g. ${stats.errorSamples[0]}`);
    for (const f of flat) if (!f.flat) failures.push(`${f.metric} not flat: last-quarter max ${f.lastQuarterMax} > ${f.limit} (first-quarter max ${f.firstQuarterMax})`);
    const pgMax = o.dialect === "postgres" ? Math.max(...sampler.samples.map((s) => s.pgConnections ?? 0)) : undefined;
    if (pgMax !== undefined && pgMax > POOL_SIZE) failures.push(`${pgMax} PostgreSQL connections, more than the pool's ${POOL_SIZE}`);
    proc.kill("SIGTERM");
    const exitCode = await proc.exited;
    if (exitCode !== 0) failures.push(`the server exited with ${exitCode} on SIGTERM`);
    return {
      dialect: o.dialect, seconds: round(elapsed), clients: o.clients, warmupSeconds: o.warmupSeconds, load: stats,
      requestsPerSecond: round(stats.requests / elapsed), flatness: flat, pgConnectionsMax: pgMax,
      poolSize: o.dialect === "postgres" ? POOL_SIZE : undefined, exitCode, ok: failures.length === 0, failures,
      samples: sampler.samples.map((s) => ({ ...s, t: round(s.t), rssMb: round(s.rssMb) })),
    };
  } finally {
    await sampler?.stop().catch(() => {});
    if (proc.exitCode === null) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    if (o.dialect === "postgres") {
      const a = postgres(admin, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).finally(() => a.end());
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(results: SoakResult[], stamp: string, command: string[]): string {
  const lines = [`# Soak ${stamp}`, "", `Server: \`${command.join(" ")}\`. Flat: the last quarter's peak (after the warm-up) within the tolerance of the first quarter's peak.`, ""];
  for (const r of results) {
    lines.push(`## ${r.dialect}: ${r.ok ? "PASS" : "FAIL"}`, "");
    lines.push(`${r.seconds} s, ${r.clients} clients, warm-up ${r.warmupSeconds} s: ${r.load.requests} requests (${r.requestsPerSecond}/s), ${r.load.errors} errors, exit code on SIGTERM ${r.exitCode}.`, "");
    lines.push("| figure | first-quarter max | last-quarter max | limit | flat |", "|---|---|---|---|---|");
    for (const f of r.flatness) lines.push(`| ${f.metric} | ${f.firstQuarterMax} | ${f.lastQuarterMax} | ${f.limit} | ${f.flat ? "yes" : "NO"} |`);
    if (r.pgConnectionsMax !== undefined) lines.push("", `PostgreSQL connections: at most ${r.pgConnectionsMax} (pool size ${r.poolSize}).`);
    lines.push("", "| op | count | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|");
    for (const [op, s] of Object.entries(r.load.byOp)) lines.push(`| ${op} | ${s.count} | ${s.p50Ms} | ${s.p99Ms} | ${s.maxMs} |`);
    for (const f of r.failures) lines.push("", `- FAILURE: ${f}`);
    lines.push("");
  }
  return lines.join("\n");
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.main) {
  const seconds = Number(flag("seconds") ?? process.env.MLFLOW_BUN_SOAK_SECONDS ?? 600);
  const which = flag("dialect") ?? "both";
  const dialects: Dialect[] = which === "both" ? ["postgres", "sqlite"] : [which as Dialect];
  const clients = Number(flag("clients") ?? 16);
  const command = defaultCommand();
  const results: SoakResult[] = [];
  for (const dialect of dialects) {
    results.push(
      await runSoak({
        dialect, seconds, clients, command, sampleEveryMs: Math.max(250, (seconds * 1000) / 400),
        // The allocator, JIT and the pools settle in the first seconds; a leak keeps growing after.
        warmupSeconds: Math.min(60, Math.max(5, seconds * 0.1)),
        log: (l) => console.log(`[soak] ${l}`),
      }),
    );
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out = `${ROOT}/bench/results`;
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/soak-${stamp}.json`, JSON.stringify({ stamp, command, results }, null, 1));
  writeFileSync(`${out}/soak-${stamp}.md`, markdown(results, stamp, command));
  console.log(markdown(results, stamp, command));
  console.log(`written: bench/results/soak-${stamp}.json, .md`);
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
