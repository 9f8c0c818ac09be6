// bench/targets.ts reads the targets off a run's rows: the verdicts must follow the
// numbers (a table that always says "yes" would hide a regression).
import { describe, expect, test } from "bun:test";
import type { Row, ServerReport } from "../../bench/report";
import { checkTargets, targetsTable } from "../../bench/targets";

const row = (workload: string, server: string, rps: number, p99Ms: number, extra: Partial<Row> = {}): Row => ({
  workload, server, rps, p50Ms: p99Ms / 2, p99Ms, errors: 0, requests: 100, rounds: 3, ...extra,
});
const server = (name: string, extra: Partial<ServerReport> = {}): ServerReport => ({
  name, kind: name.split("/")[0]!, dialect: "postgres", status: "ok", starts: [], ...extra,
});
const verdict = (checks: ReturnType<typeof checkTargets>, target: string) => checks.find((c) => c.target === target)?.holds;

describe("bench targets", () => {
  test("ratios against Python (10× rows and 5× rows), p99, peers, the floor", () => {
    const rows = [
      row("CreateRun", "mlflow-bun/pg", 600, 10), row("CreateRun", "mlflow-python/pg", 100, 50), row("CreateRun", "floor: postgres.js SQL", 1000, 5),
      row("CreateRun", "fasttrackml/pg", 700, 8),
      row("LogMetricBatch1000", "mlflow-bun/pg", 90, 300), row("LogMetricBatch1000", "mlflow-python/pg", 10, 200),
      row("GetRun", "mlflow-bun/pg", 400, 10), row("GetRun", "mlflow-python/pg", 100, 20), row("GetRun", "mlflow-go/pg", 0, 0, { failed: "setup failed" }),
    ];
    const checks = checkTargets(rows, [server("mlflow-bun/pg"), server("mlflow-python/pg")]);
    expect(verdict(checks, "CreateRun: ≥ 5× Python")).toBe(true);
    expect(verdict(checks, "CreateRun: p99 not worse than Python's")).toBe(true);
    expect(verdict(checks, "CreateRun: ahead of fasttrackml/pg")).toBe(false);
    expect(verdict(checks, "CreateRun: within 1.5× of the SQL floor")).toBe(false); // 1000 / 600 = 1.67
    expect(verdict(checks, "LogMetricBatch1000: ≥ 10× Python")).toBe(false); // 9×
    expect(verdict(checks, "LogMetricBatch1000: p99 not worse than Python's")).toBe(false);
    expect(verdict(checks, "GetRun: ≥ 5× Python")).toBe(false); // 4×
    expect(checks.some((c) => c.target === "GetRun: ahead of mlflow-go/pg")).toBe(false); // it served nothing
    expect(targetsTable(checks)).toContain("**no**");
  });

  test("Python answering nothing is no ratio; mlflow-bun failing is a miss; memory and start", () => {
    const rows = [
      row("GetMetricHistory25k", "mlflow-bun/pg", 20, 900), row("GetMetricHistory25k", "mlflow-python/pg", NaN, NaN, { failed: "no request completed within 5 s", requests: 0 }),
      row("SearchRuns", "mlflow-bun/pg", NaN, NaN, { failed: "3 errors", errors: 3 }), row("SearchRuns", "mlflow-python/pg", 10, 900),
    ];
    const bun = server("mlflow-bun/pg", { quiet: { ms: [70, 90, 200], idleRssMb: 45 }, peakRssMb: 250 });
    const checks = checkTargets(rows, [bun, server("mlflow-python/pg")]);
    expect(verdict(checks, "GetMetricHistory25k: ≥ 5× Python")).toBe(true);
    expect(verdict(checks, "SearchRuns: ≥ 5× Python")).toBe(false);
    expect(verdict(checks, "mlflow-bun/pg: first /health < 150 ms after start")).toBe(true); // median 90
    expect(verdict(checks, "mlflow-bun/pg: < 60 MB RSS idle")).toBe(true);
    expect(verdict(checks, "mlflow-bun/pg: < 200 MB RSS peak during the bench")).toBe(false);
  });
});
