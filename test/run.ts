// `make test`: every suite, one Postgres, one closing line.
// Finds a reachable PostgreSQL or starts a throwaway one, runs bun:test (unit + integration)
// and pytest (parity with the real mlflow client and server), and prints `N passed, N failed`.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { ensurePostgres } from "./support/pg-cluster";

const root = new URL("..", import.meta.url).pathname;
const tmp = `${root}.test-tmp`;
mkdirSync(tmp, { recursive: true });

interface Counts { passed: number; failed: number; skipped: number }

/** Totals of a JUnit XML report (bun's and pytest's both write one). */
function junitCounts(path: string): Counts | undefined {
  if (!existsSync(path)) return undefined;
  const xml = readFileSync(path, "utf8");
  const cases = xml.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? [];
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const c of cases) {
    if (/<(failure|error)\b/.test(c)) counts.failed++;
    else if (/<skipped\b/.test(c)) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}

async function suite(name: string, cmd: string[], report: string, env: Record<string, string>): Promise<Counts> {
  console.log(`\n=== ${name}: ${cmd.join(" ")}`);
  rmSync(report, { force: true });
  const proc = Bun.spawn(cmd, { cwd: root, env: { ...process.env, ...env }, stdout: "inherit", stderr: "inherit" });
  const code = await proc.exited;
  // A command without a report (the bench smoke run) counts as one check.
  const counts = junitCounts(report) ?? { passed: code === 0 ? 1 : 0, failed: 0, skipped: 0 };
  // A runner that failed without a failing test (crash, load error) still fails the run.
  if (code !== 0 && counts.failed === 0) counts.failed = 1;
  console.log(`=== ${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (exit ${code})`);
  return counts;
}

const pg = await ensurePostgres();
const env: Record<string, string> = { MLFLOW_BUN_PG_URL: pg.url };
if (existsSync(`${root}dist/mlflow-bun`)) env.MLFLOW_BUN_BINARY = `${root}dist/mlflow-bun`;
const bun = process.execPath;
const python = `${root}.venv/bin/python`;
const totals: Counts = { passed: 0, failed: 0, skipped: 0 };
try {
  const results = [
    await suite("bun:test", [bun, "test", "--reporter=junit", `--reporter-outfile=${tmp}/bun.xml`, "test/unit", "test/integration"], `${tmp}/bun.xml`, env),
    await suite("pytest", [python, "-m", "pytest", "test/parity", "-q", `--junitxml=${tmp}/pytest.xml`, "-p", "no:cacheprovider"], `${tmp}/pytest.xml`, env),
    // Schemathesis over /swagger/json and injection payloads in every search grammar (bounded).
    await suite("fuzz", [python, "-m", "pytest", "test/fuzz", "-q", `--junitxml=${tmp}/fuzz.xml`, "-p", "no:cacheprovider"], `${tmp}/fuzz.xml`, env),
    // basic-auth never bypassed on any native route; --static-prefix for native and proxied routes.
    await suite("security", [python, "-m", "pytest", "test/security", "-q", `--junitxml=${tmp}/security.xml`, "-p", "no:cacheprovider"], `${tmp}/security.xml`, env),
    // Two mlflow-bun processes and MLflow's server on one PostgreSQL database, 64 writers.
    await suite("reliability", [python, "-m", "pytest", "test/reliability", "-q", `--junitxml=${tmp}/reliability.xml`, "-p", "no:cacheprovider"], `${tmp}/reliability.xml`, env),
    // The Python package: the wheel installed into a fresh venv, `mlflow-bun server` end to end.
    await suite("launcher", [python, "-m", "pytest", "test/launcher", "-q", `--junitxml=${tmp}/launcher.xml`, "-p", "no:cacheprovider"], `${tmp}/launcher.xml`, env),
    // The benchmark harness, seconds at toy scale, so it cannot rot (make bench is the real run).
    await suite("bench-smoke", [bun, "bench/run.ts", "--mode", "smoke"], `${tmp}/no-report.xml`, env),
    // The MLflow web UI in Chromium through mlflow-bun (installs Debian's chromium when missing).
    await suite("browser", [bun, "test", "--reporter=junit", `--reporter-outfile=${tmp}/browser.xml`, "test/browser"], `${tmp}/browser.xml`, env),
  ];
  for (const r of results) {
    totals.passed += r.passed;
    totals.failed += r.failed;
    totals.skipped += r.skipped;
  }
} finally {
  await pg.stop();
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || totals.passed === 0 ? 1 : 0);
