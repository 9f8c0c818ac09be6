// Crash consistency: mlflow-bun is killed with SIGKILL in the middle of a stream of log-batch,
// log-metric, create-run and create-model-version writes from several clients, restarted on the
// same database, and then every acknowledged write must be there, every batch whole or absent,
// and the model's version numbers still 1..n (MLflow's, gap-free). The server is a real process:
// $MLFLOW_BUN_BINARY when test/run.ts built it, else `bun src/cli.ts`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { freshDatabase } from "../support/postgres";
import { DIALECTS } from "../support/server";
import { QUERIES, seed, startWriters, until, verify, type Rows } from "./write-workload";

const ROOT = resolve(import.meta.dir, "../..");
const CLI = process.env.MLFLOW_BUN_BINARY ? [resolve(process.env.MLFLOW_BUN_BINARY)] : [process.execPath, join(ROOT, "src/cli.ts")];
const WRITERS = 6;

/** A port nobody listens on now, so a restarted server can take the same one (clients keep their URL). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
  const port = (probe.address() as { port: number }).port;
  await new Promise((ok) => probe.close(ok));
  return port;
}

async function startProcess(storeUri: string, port: number, cwd: string) {
  const proc = Bun.spawn([...CLI, "--host", "127.0.0.1", "--port", String(port), "--backend-store-uri", storeUri], {
    cwd,
    env: { ...process.env, MLFLOW_BUN_PYTHON_URL: "" },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`mlflow-bun exited with ${proc.exitCode} on start`);
    const up = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (up) return proc;
    await Bun.sleep(50);
  }
  proc.kill("SIGKILL");
  throw new Error("mlflow-bun did not answer /health");
}

for (const dialect of DIALECTS) {
  describe(`kill -9 under writes (${dialect})`, () => {
    let dir: string;
    let storeUri: string;
    let readRows: () => Promise<Rows>;
    let drop = async () => {};

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mlflow-bun-crash-"));
      if (dialect === "sqlite") {
        const file = join(dir, "mlflow.db");
        storeUri = `sqlite:///${file}`;
        readRows = async () => {
          const db = new Database(file, { readonly: true });
          try {
            return Object.fromEntries(Object.entries(QUERIES).map(([k, q]) => [k, db.query(q).all()])) as unknown as Rows;
          } finally {
            db.close();
          }
        };
      } else {
        const fresh = await freshDatabase("mlflow_bun_crash");
        storeUri = fresh.uri;
        drop = fresh.drop;
        readRows = async () => {
          const sql = postgres(fresh.uri.replace(/^postgresql:/, "postgres:"), { max: 1, onnotice: () => {} });
          try {
            return Object.fromEntries(await Promise.all(Object.entries(QUERIES).map(async ([k, q]) => [k, [...(await sql.unsafe(q))]]))) as unknown as Rows;
          } finally {
            await sql.end();
          }
        };
      }
    }, 30_000);
    afterAll(async () => {
      await drop();
      rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    test("every acknowledged write survives, no batch is partial, version numbers stay gap-free", async () => {
      const port = await freePort();
      let proc = await startProcess(storeUri, port, dir);
      const url = `http://127.0.0.1:${port}`;
      const seeded = await seed(url, WRITERS);
      const writers = startWriters({ url: () => url }, seeded, { timeoutMs: 15_000, unansweredOk: true });
      try {
        for (const round of [1, 2]) {
          const before = writers.ledger.ok;
          await until(() => writers.ledger.ok >= before + 60, `writes before kill ${round}`);
          proc.kill("SIGKILL");
          await proc.exited;
          // SQLite in WAL mode: the log the killed process left is what the restart must recover.
          if (dialect === "sqlite") expect(existsSync(join(dir, "mlflow.db-wal"))).toBe(true);
          proc = await startProcess(storeUri, port, dir);
        }
        const after = writers.ledger.ok;
        await until(() => writers.ledger.ok >= after + 60, "writes after the last restart");
      } finally {
        await writers.stop();
        proc.kill("SIGTERM");
        await proc.exited;
      }
      // Only successes, or no answer at all while the server was down: never a 5xx.
      expect([...writers.ledger.failures.keys()]).toEqual([]);
      verify(writers.ledger, await readRows());
    }, 90_000);
  });
}
