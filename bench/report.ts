// Results: per (workload, server) across rounds → one row; the Markdown tables.
import { readFileSync, writeFileSync } from "node:fs";
import type { QuietStart } from "./startup";
import { checkTargets, targetsTable } from "./targets";

export interface Sample {
  round: number;
  workload: string;
  server: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  errorDetail?: string;
  rssMb?: number;
  /** Set when the workload could not be run at all against this server. */
  failed?: string;
}

export interface ServerReport {
  name: string;
  kind: string;
  dialect: string;
  version?: string;
  status: "ok" | "not installed" | "did not start" | "setup failed";
  reason?: string;
  /** First 2xx of GET /health after process start, per start. */
  starts: { db: string; ms: number }[];
  data?: { how: string; seconds: number; requests?: number };
  peakRssMb?: number;
  /** Starts alone on the machine after the workloads (bench/startup.ts). */
  quiet?: QuietStart;
}

export interface Row {
  workload: string;
  server: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  requests: number;
  rssMb?: number;
  ratio?: number;
  failed?: string;
  rounds: number;
}

export const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Rows in workload order, servers in the given order; ratio = rps / baseline rps (same workload). */
export function aggregate(samples: Sample[], workloadOrder: string[], serverOrder: string[], baselineOf: (server: string) => string | undefined): Row[] {
  const rows: Row[] = [];
  for (const w of workloadOrder) {
    for (const s of serverOrder) {
      const mine = samples.filter((x) => x.workload === w && x.server === s);
      if (!mine.length) continue;
      const ran = mine.filter((x) => !x.failed);
      const errors = mine.reduce((n, x) => n + x.errors, 0);
      const requests = mine.reduce((n, x) => n + x.requests, 0);
      let failed = mine.find((x) => x.failed)?.failed;
      if (!failed && errors > 0) failed = `${errors} errors (${[...new Set(mine.map((x) => x.errorDetail).filter(Boolean))].join("; ")})`;
      if (!failed && requests === 0) failed = "no request completed";
      const rss = mine.map((x) => x.rssMb).filter((x): x is number => x !== undefined);
      rows.push({
        workload: w, server: s, rps: median(ran.map((x) => x.rps)), p50Ms: median(ran.map((x) => x.p50Ms)), p99Ms: median(ran.map((x) => x.p99Ms)),
        errors, requests, rssMb: rss.length ? Math.max(...rss) : undefined, failed, rounds: mine.length,
      });
    }
  }
  for (const r of rows) {
    const base = baselineOf(r.server);
    const b = rows.find((x) => x.workload === r.workload && x.server === base);
    if (b && !b.failed && !r.failed && b.rps > 0) r.ratio = r.rps / b.rps;
  }
  return rows;
}

const num = (x: number | undefined, digits = 1) =>
  x === undefined || Number.isNaN(x) ? "–" : x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits);

export function markdownTable(rows: Row[]): string {
  const lines = [
    "| Workload | Server | req/s | p50 ms | p99 ms | n | errors | RSS peak MB | × Python |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|",
  ];
  let last = "";
  for (const r of rows) {
    const w = r.workload === last ? "" : r.workload;
    last = r.workload;
    if (r.failed && r.requests === 0) {
      // no answer inside the window is slowness, not an error: TIMEOUT; anything else FAILED
      const label = r.errors === 0 && r.failed.startsWith("no request completed") ? "TIMEOUT" : "FAILED";
      lines.push(`| ${w} | ${r.server} | ${label} | | | 0 | ${r.errors || ""} | ${num(r.rssMb, 0)} | ${esc(r.failed)} |`);
      continue;
    }
    const rps = r.failed ? `FAILED (${num(r.rps)})` : num(r.rps);
    lines.push(
      `| ${w} | ${r.server} | ${rps} | ${num(r.p50Ms, 2)} | ${num(r.p99Ms, 2)} | ${r.requests.toLocaleString("en-US")} | ${r.errors} | ${num(r.rssMb, 0)} | ${r.ratio === undefined ? "–" : `${r.ratio.toFixed(2)}×`} |`,
    );
  }
  return lines.join("\n");
}

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ").slice(0, 200);

export function serversTable(servers: ServerReport[]): string {
  const lines = [
    "| Server | Version | Status | First /health, starts during the run | Quiet start: first /health, median (all) | Idle RSS MB | Data set | Build s | Peak RSS MB |",
    "|---|---|---|---|--:|--:|---|--:|--:|",
  ];
  const ms = (x: number) => `${Math.round(x).toLocaleString("en-US")} ms`;
  for (const s of servers) {
    const starts = s.starts.map((x) => `${ms(x.ms)} (${x.db})`).join(", ") || "–";
    const quiet = s.quiet?.ms.length ? `${ms(median(s.quiet.ms))} (${s.quiet.ms.map((x) => Math.round(x)).join(", ")})` : "–";
    lines.push(
      `| ${s.name} | ${esc(s.version ?? "–")} | ${s.status}${s.reason ? `: ${esc(s.reason)}` : ""} | ${starts} | ${quiet} | ${num(s.quiet?.idleRssMb, 0)} | ${esc(s.data?.how ?? "–")} | ${s.data ? s.data.seconds.toFixed(1) : "–"} | ${num(s.peakRssMb, 0)} |`,
    );
  }
  return lines.join("\n");
}

/**
 * bench/README.md shows the latest full run between its markers; until there is one, the latest
 * quick run, marked as such.
 */
export function updateReadme(file: string, mode: "quick" | "full", timestamp: string, md: string): void {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return;
  }
  const start = text.indexOf("<!-- bench:latest:start");
  const end = text.indexOf("<!-- bench:latest:end -->");
  if (start < 0 || end < 0) return;
  const open = text.indexOf("-->", start) + 3;
  const current = text.slice(open, end);
  if (mode === "quick" && current.includes("Full run of")) return;
  const body = md.replace(/^# .*\n\n/, "").replace(/^## Servers/m, "#### Servers");
  const section =
    mode === "full"
      ? `\nFull run of ${timestamp}.\n\n${body}\n`
      : `\n**No full run yet.** Below: the latest **quick run** (${timestamp}; small scale, short windows, one round — indicative only, not the committed numbers).\n\n${body}\n`;
  writeFileSync(file, text.slice(0, open) + section + text.slice(end));
}

export interface RunSummary {
  mode: string;
  timestamp: string;
  machine: { cores: number; memoryGiB: number; cpu?: string; bun: string };
  gen: { kind: string; note?: string };
  options: { seconds: number; rounds: number; concurrency: number; writers: number; scale: { runs: number; metricSteps: number; historyPoints: number; bulkRuns: number; bulkSteps: number } };
  rows: Row[];
  servers: ServerReport[];
}

/** The run's Markdown: set-up, the results table, the targets (full runs), the servers. */
export function runMarkdown(r: RunSummary): string {
  const { machine, gen, options: o } = r;
  const n = (x: number) => x.toLocaleString("en-US");
  const targets = r.mode === "full" || r.servers.some((s) => s.name === "mlflow-python/pg" && s.status === "ok")
    ? ["## Targets (PostgreSQL rows)", "", targetsTable(checkTargets(r.rows, r.servers)), ""]
    : [];
  return [
    `# Benchmark ${r.mode} run, ${r.timestamp}`,
    "",
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB; Bun ${machine.bun}. Load generator: ${gen.kind}${gen.note ? ` (${gen.note})` : ""}. ` +
      `${o.seconds} s per workload per server per round${r.mode === "smoke" ? "" : " (at least 5 s for the two metric-history reads)"}, ${o.rounds} round(s), servers interleaved; ${o.concurrency} connections (writers workload: ${o.writers}). ` +
      `Scale experiment: ${n(o.scale.runs)} runs × (10 params, 10 tags, 20 metrics × ${o.scale.metricSteps} steps); history ${n(o.scale.historyPoints)} points; bulk ${o.scale.bulkRuns} runs × ${n(o.scale.bulkSteps)} steps.`,
    "",
    "req/s, p50 and p99 are medians over rounds; n is the requests completed (all rounds); RSS peak is the server's memory during the workload (sampled every 100 ms: one process's VmRSS, a process tree's summed PSS; the Servers table's peak also counts a single process's VmHWM); × Python is req/s over `mlflow-python` (default workers) of the same dialect in this run. A workload with any non-2xx answer or socket error is FAILED, whatever its speed; TIMEOUT means no request completed inside the window (requests still running when it closes are not counted).",
    "",
    markdownTable(r.rows),
    "",
    ...targets,
    "## Servers",
    "",
    serversTable(r.servers),
    "",
  ].join("\n");
}

/**
 * The smoke run's verdict (exit code): the harness must stay runnable, so every mlflow-bun
 * workload answered without errors; one that completed nothing in its tiny window only warns.
 */
export function smokeVerdict(rows: Row[], servers: ServerReport[]): number {
  const ours = rows.filter((r) => r.server.startsWith("mlflow-bun"));
  const slow = ours.filter((r) => r.errors === 0 && r.failed?.startsWith("no request completed"));
  for (const r of slow) console.warn(`bench-smoke warning: ${r.workload} on ${r.server}: ${r.failed}`);
  const bad = ours.filter((r) => r.failed && !slow.includes(r));
  const down = servers.filter((s) => s.kind === "mlflow-bun" && s.status !== "ok");
  if (bad.length || down.length || ours.length === 0) {
    const reasons = [...down.map((s) => `${s.name} ${s.status}: ${s.reason}`), ...bad.map((r) => `${r.workload} on ${r.server}: ${r.failed}`)];
    console.error(`bench-smoke FAILED: ${reasons.join("; ") || "no mlflow-bun rows"}`);
    return 1;
  }
  console.log("bench-smoke: OK");
  return 0;
}
