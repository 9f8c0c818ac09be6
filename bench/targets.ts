// The targets of issue 7, read off one run's rows (PostgreSQL backend, as the issue measures
// them; SQLite rows are reported but not judged). Each line: the target, what this run
// measured, and whether it holds — computed, so the table cannot flatter.
import { median, type Row, type ServerReport } from "./report";

const BUN = "mlflow-bun/pg";
const PYTHON = "mlflow-python/pg";
const PEERS = ["mlflow-go/pg", "fasttrackml/pg"];
const FLOOR = "floor: postgres.js SQL";
const TEN_X = ["LogMetricBatch1000", "SearchRunsScale", "SearchRunsScalePage10", "GetHistoryBulkInterval"];

interface Check {
  target: string;
  measured: string;
  holds: boolean | undefined;
}

const x = (n: number) => `${n.toFixed(1)}×`;
const ok = (r: Row | undefined): boolean => !!r && !r.failed && Number.isFinite(r.rps);

export function checkTargets(rows: Row[], servers: ServerReport[]): Check[] {
  const checks: Check[] = [];
  const row = (workload: string, server: string) => rows.find((r) => r.workload === workload && r.server === server);
  const workloads = [...new Set(rows.filter((r) => r.server === BUN).map((r) => r.workload))];

  for (const w of workloads) {
    const b = row(w, BUN);
    const p = row(w, PYTHON);
    const need = TEN_X.includes(w) ? 10 : 5;
    if (!b || !ok(b)) {
      checks.push({ target: `${w}: ≥ ${need}× Python`, measured: `mlflow-bun failed: ${b?.failed ?? "no row"}`, holds: false });
      continue;
    }
    if (!p) continue;
    if (!ok(p)) {
      // Python completed nothing in the window: the ratio is unbounded, not measured
      checks.push({ target: `${w}: ≥ ${need}× Python`, measured: `${b.rps.toFixed(1)} req/s; Python: ${p.failed}`, holds: p.errors === 0 ? true : undefined });
      continue;
    }
    const ratio = b.rps / p.rps;
    checks.push({ target: `${w}: ≥ ${need}× Python`, measured: `${x(ratio)} (${b.rps.toFixed(1)} vs ${p.rps.toFixed(1)} req/s)`, holds: ratio >= need });
    checks.push({ target: `${w}: p99 not worse than Python's`, measured: `${b.p99Ms.toFixed(1)} vs ${p.p99Ms.toFixed(1)} ms`, holds: b.p99Ms <= p.p99Ms });
    for (const peer of PEERS) {
      const q = row(w, peer);
      if (!q || !ok(q)) continue;
      checks.push({ target: `${w}: ahead of ${peer}`, measured: `${x(b.rps / q.rps)} (${q.rps.toFixed(1)} req/s)`, holds: b.rps > q.rps });
    }
    const f = row(w, FLOOR);
    if (f && ok(f)) {
      checks.push({ target: `${w}: within 1.5× of the SQL floor`, measured: `floor/mlflow-bun = ${(f.rps / b.rps).toFixed(2)} (${f.rps.toFixed(1)} req/s)`, holds: f.rps / b.rps <= 1.5 });
    }
  }

  for (const s of servers.filter((s) => s.kind === "mlflow-bun")) {
    if (s.quiet) {
      const first = median(s.quiet.ms);
      checks.push({ target: `${s.name}: first /health < 150 ms after start`, measured: `${first.toFixed(0)} ms (median of ${s.quiet.ms.length} quiet starts)`, holds: first < 150 });
      checks.push({ target: `${s.name}: < 60 MB RSS idle`, measured: `${s.quiet.idleRssMb.toFixed(0)} MB`, holds: s.quiet.idleRssMb < 60 });
    }
    if (s.peakRssMb !== undefined) {
      checks.push({ target: `${s.name}: < 200 MB RSS peak during the bench`, measured: `${s.peakRssMb.toFixed(0)} MB`, holds: s.peakRssMb < 200 });
    }
  }
  return checks;
}

export function targetsTable(checks: Check[]): string {
  const held = checks.filter((c) => c.holds === true).length;
  const missed = checks.filter((c) => c.holds === false).length;
  const lines = [
    `${held} of ${checks.length} hold, ${missed} do not${checks.length - held - missed ? `, ${checks.length - held - missed} not measurable` : ""}.`,
    "",
    "| Target | Measured | Holds |",
    "|---|---|---|",
    ...checks.map((c) => `| ${c.target} | ${c.measured.replace(/\|/g, "\\|").slice(0, 160)} | ${c.holds === undefined ? "?" : c.holds ? "yes" : "**no**"} |`),
  ];
  return lines.join("\n");
}
