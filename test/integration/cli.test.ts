// The executable, as a user runs it: `bun src/cli.ts`, or the compiled binary that
// $MLFLOW_BUN_BINARY names. Exit codes: 0 done, 2 usage error, 1 failed to start.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ALEMBIC_HEAD } from "../../src/generated/schema/head";
import { openDb } from "../../src/store/db";
import { ensureSchema } from "../../src/store/schema";
import { freshDatabase } from "../support/postgres";

const ROOT = resolve(import.meta.dir, "../..");
const CLI = process.env.MLFLOW_BUN_BINARY ? [resolve(process.env.MLFLOW_BUN_BINARY)] : [process.execPath, join(ROOT, "src/cli.ts")];

/** The environment less every MLFLOW_* setting, so only what a test passes configures the server. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("MLFLOW_")) env[k] = v;
  return { ...env, ...extra };
}

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "mlflow-bun-cli-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = Bun.spawn([...CLI, ...args], { cwd: dir, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, stdout, stderr };
}

interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  /** The first line the server printed. */
  banner: string;
  output(): { stdout: string; stderr: string };
  /** Sends a signal and resolves to the exit code and how long the exit took. */
  signal(sig: "SIGTERM" | "SIGINT"): Promise<{ code: number | null; ms: number }>;
}

/** Starts the server and waits for its "listening on" line. */
async function startCli(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const proc = Bun.spawn([...CLI, ...args], { cwd: dir, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let stdout = "";
  let stderr = "";
  const decoder = new TextDecoder();
  const stderrDone = (async () => {
    for await (const c of proc.stderr as unknown as AsyncIterable<Uint8Array>) stderr += decoder.decode(c);
  })();
  const listening = new Promise<string>((resolve, reject) => {
    (async () => {
      for await (const c of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
        stdout += decoder.decode(c);
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m) resolve(m[1]!);
      }
      reject(new Error(`the server exited before listening (code ${await proc.exited}):\n${stdout}\n${stderr}`));
    })();
  });
  const timeout = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  try {
    const url = await listening;
    clearTimeout(timeout);
    return {
      proc,
      url,
      banner: stdout.split("\n")[0]!,
      output: () => ({ stdout, stderr }),
      async signal(sig) {
        const t0 = performance.now();
        proc.kill(sig);
        const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
        await proc.exited;
        await stderrDone;
        clearTimeout(killer);
        return { code: proc.exitCode, ms: performance.now() - t0 };
      },
    };
  } catch (e) {
    clearTimeout(timeout);
    proc.kill("SIGKILL");
    throw e;
  }
}

/** A database at a revision other than the head, made with mlflow-bun's own schema then stamped. */
async function staleDatabase(uri: string, version: string): Promise<void> {
  const db = openDb(uri, { poolSize: 1 });
  try {
    await ensureSchema(db);
    await db.exec(`UPDATE alembic_version SET version_num = '${version}'`);
  } finally {
    await db.close();
  }
}

const sqliteUri = (name: string) => `sqlite:///${join(dir, `${name}-${crypto.randomUUID().slice(0, 8)}.db`)}`;

describe("informational flags", () => {
  test("--help prints the usage and exits 0", async () => {
    for (const args of [["--help"], ["server", "--help"]]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toStartWith("Usage: mlflow-bun [server] [OPTIONS]");
      for (const flag of ["--host", "--port", "--backend-store-uri", "--default-artifact-root", "--serve-artifacts", "--artifacts-destination", "--static-prefix", "--python-url", "--pool-size", "--version", "--help"]) {
        expect(r.stdout).toContain(flag);
      }
    }
  });

  test("--version prints mlflow-bun's and MLflow's versions and exits 0", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^mlflow-bun \d+\.\d+\.\d+\S* \(MLflow 3\.18\.0 API, Bun \d+\.\d+\.\d+\S*\)\n$/);
  });
});

describe("usage errors exit 2 with one line on stderr", () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["an unknown flag", ["--bogus"], {}, /^Error: No such option: --bogus/],
    ["an unknown flag after `server`", ["server", "--no-such-flag", "4"], {}, /^Error: No such option: --no-such-flag/],
    ["a bad --backend-store-uri", ["--backend-store-uri", "mysql://u@h/db"], {}, /^Error: Invalid value for '--backend-store-uri': Unsupported backend store URI 'mysql:\/\/u@h\/db'/],
    ["a malformed --backend-store-uri", ["--backend-store-uri", "mlruns"], {}, /^Error: Invalid value for '--backend-store-uri'/],
    ["a bad MLFLOW_BACKEND_STORE_URI", [], { MLFLOW_BACKEND_STORE_URI: "file:///tmp/mlruns" }, /^Error: Invalid value for '--backend-store-uri'/],
    ["a bad --port", ["--port", "http"], {}, /^Error: Invalid value for '--port'/],
    ["a bad MLFLOW_PORT", [], { MLFLOW_PORT: "99999" }, /^Error: Invalid value for '--port'/],
    ["a flag without its value", ["--port"], {}, /^Error: Option '--port' requires an argument\./],
    ["a bad --python-url", ["--python-url", "localhost:5001"], {}, /^Error: Invalid value for '--python-url'/],
  ];
  for (const [what, args, env, message] of cases) {
    test(what, async () => {
      const r = await runCli(args, env);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    });
  }
});

describe("serving", () => {
  test("starts on a free port (--port 0), answers, and exits 0 promptly on SIGTERM (SQLite)", async () => {
    const uri = sqliteUri("serve");
    const s = await startCli(["server", "--host", "127.0.0.1", "--port", "0", "--backend-store-uri", uri]);
    expect(s.banner).toMatch(/^mlflow-bun listening on http:\/\/127\.0\.0\.1:\d+ \(\d+ native routes; no --python-url: other API paths answer 404\)$/);
    expect(Number(new URL(s.url).port)).toBeGreaterThan(0);
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("OK");
    expect(await (await fetch(`${s.url}/version`)).text()).toBe("3.18.0");
    const exp: any = await (await fetch(`${s.url}/api/2.0/mlflow/experiments/get?experiment_id=0`)).json();
    expect(exp.experiment).toMatchObject({ experiment_id: "0", name: "Default" });
    const { code, ms } = await s.signal("SIGTERM");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
    expect(s.output().stderr).toBe("");
    expect(existsSync(uri.slice("sqlite:///".length))).toBe(true);
    // The port is free again.
    await expect(fetch(`${s.url}/health`)).rejects.toThrow();
  }, 30_000);

  test("SIGINT (Ctrl-C) exits 0 too", async () => {
    const s = await startCli(["--port", "0", "--backend-store-uri", sqliteUri("sigint")]);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const { code, ms } = await s.signal("SIGINT");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
  }, 30_000);

  test("configured by environment variables alone", async () => {
    const uri = sqliteUri("env");
    const s = await startCli([], { MLFLOW_HOST: "127.0.0.1", MLFLOW_PORT: "0", MLFLOW_BACKEND_STORE_URI: uri, MLFLOW_SERVE_ARTIFACTS: "false", MLFLOW_BUN_PYTHON_URL: "http://127.0.0.1:9" });
    expect(s.banner).toContain("other requests proxied to http://127.0.0.1:9");
    const exp: any = await (await fetch(`${s.url}/api/2.0/mlflow/experiments/get?experiment_id=0`)).json();
    // --no-serve-artifacts: the default experiment's artifacts live under ./mlruns (cwd-relative, made absolute).
    expect(exp.experiment.artifact_location).toBe(join(dir, "mlruns", "0"));
    expect((await s.signal("SIGTERM")).code).toBe(0);
  }, 30_000);

  test("PostgreSQL: serves, and SIGTERM closes the pool and exits 0 promptly", async () => {
    const pg = await freshDatabase("mlflow_bun_cli");
    try {
      const s = await startCli(["server", "--port", "0", "--backend-store-uri", pg.uri, "--pool-size", "3"]);
      const created = await fetch(`${s.url}/api/2.0/mlflow/experiments/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "cli-pg" }) });
      expect(created.status).toBe(200);
      const { code, ms } = await s.signal("SIGTERM");
      expect(code).toBe(0);
      expect(ms).toBeLessThan(7000);
      expect(s.output().stderr).toBe("");
    } finally {
      await pg.drop();
    }
  }, 60_000);

  test("SIGTERM lets an in-flight request finish before exiting", async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((r) => (arrived = r));
    const upstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch() {
        arrived();
        await Bun.sleep(1000);
        return new Response("slow answer", { headers: { "content-type": "text/plain" } });
      },
    });
    try {
      const s = await startCli(["--port", "0", "--backend-store-uri", sqliteUri("inflight"), "--python-url", `http://127.0.0.1:${upstream.port}`]);
      const pending = fetch(`${s.url}/api/3.0/mlflow/scorers/list?experiment_id=1`);
      await requestArrived;
      const exit = s.signal("SIGTERM");
      const res = await pending;
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("slow answer");
      expect((await exit).code).toBe(0);
    } finally {
      upstream.stop(true);
    }
  }, 30_000);
});

describe("failing to start exits 1 with an Error: line", () => {
  for (const dialect of ["sqlite", "postgres"] as const) {
    test(`a database not at the pinned head (${dialect})`, async () => {
      const pg = dialect === "postgres" ? await freshDatabase("mlflow_bun_cli_stale") : undefined;
      try {
        const uri = pg?.uri ?? sqliteUri("stale");
        await staleDatabase(uri, "8b6ad64cb8f5");
        const r = await runCli(["server", "--port", "0", "--backend-store-uri", uri]);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        const lines = r.stderr.split("\n").filter(Boolean);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toStartWith(`Error: Detected out-of-date database schema (found version 8b6ad64cb8f5, but expected ${ALEMBIC_HEAD}).`);
        expect(lines[0]).toContain("mlflow db upgrade");
      } finally {
        await pg?.drop();
      }
    }, 30_000);
  }

  test("a port already in use", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
    try {
      const r = await runCli(["--port", String(taken.port), "--backend-store-uri", sqliteUri("busy")]);
      expect(r.code).toBe(1);
      const lines = r.stderr.split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith("Error:");
      expect(lines[0]).toContain(String(taken.port));
    } finally {
      taken.stop(true);
    }
  });

  test("a PostgreSQL server that is not there", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const port = probe.port;
    probe.stop(true);
    const r = await runCli(["--port", "0", "--backend-store-uri", `postgresql://postgres@127.0.0.1:${port}/mlflow`]);
    expect(r.code).toBe(1);
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("Error:");
    expect(lines[0]).toContain(`port ${port} failed: Connection refused`);
  }, 30_000);
});
