// The database goes away under a stream of writes. PostgreSQL is restarted (stop, wait, start)
// while clients log metrics and batches, create runs and model versions: meanwhile every request
// is answered promptly with MLflow's 503 TEMPORARILY_UNAVAILABLE (an OperationalError in MLflow's
// session wrapper), never a 500 or a hung socket; afterwards mlflow-bun has reconnected by itself,
// every acknowledged write is stored and no batch is partial. SQLite: a lock held by another
// process for longer than busy_timeout gets MLflow's answer to "database is locked" (503) while
// reads keep being served.
//
// PostgreSQL here is a throwaway cluster of this test's own (the shared server is never stopped).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { DEFAULTS, resolveArtifactRoot, type Config } from "../../src/config";
import { startServer, type RunningServer } from "../../src/main";
import { startOwnCluster, type OwnCluster } from "../support/pg-cluster";
import { withDatabase } from "../support/postgres";
import { QUERIES, seed, startWriters, until, verify, type Rows } from "./write-workload";

const WRITERS = 4;
// A request during the outage must be answered well within this (connect_timeout is 5 s).
const ANSWER_WITHIN_MS = 15_000;

function config(dir: string, backendStoreUri: string): Config {
  return {
    ...DEFAULTS, host: "127.0.0.1", port: 0, backendStoreUri, poolSize: 4,
    defaultArtifactRoot: resolveArtifactRoot(undefined, true), artifactsDestination: join(dir, "mlartifacts"), artifactsOnly: false,
  };
}

describe("PostgreSQL restarted under a stream of writes", () => {
  let cluster: OwnCluster;
  let server: RunningServer;
  let dbUrl: string;
  let dir: string;

  beforeAll(async () => {
    cluster = await startOwnCluster();
    const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
    await admin.unsafe("CREATE DATABASE outage");
    await admin.end();
    dbUrl = withDatabase(cluster.url, "outage");
    dir = mkdtempSync(join(tmpdir(), "mlflow-bun-outage-"));
    server = await startServer(config(dir, dbUrl.replace(/^postgres:/, "postgresql:")), { signals: false, quiet: true });
  }, 60_000);
  afterAll(async () => {
    // After an outage postgres.js's pool.end can wait out its 5 s timeout for a connection.
    await server?.stop();
    cluster?.stopSync();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  test("503 TEMPORARILY_UNAVAILABLE during the outage, reconnects after, nothing acknowledged is lost, no partial batch", async () => {
    const seeded = await seed(server.url, WRITERS);
    const writers = startWriters({ url: () => server.url }, seeded, { timeoutMs: ANSWER_WITHIN_MS, unansweredOk: false });
    const unavailable = () => writers.ledger.failures.get("503 TEMPORARILY_UNAVAILABLE") ?? 0;
    let down = false;
    try {
      await until(() => writers.ledger.ok >= 40, "writes before the outage");
      cluster.stopServer("fast");
      down = true;
      await until(() => unavailable() >= 20, "503 answers during the outage");
      cluster.startServer();
      down = false;
      const okBefore = writers.ledger.ok;
      await until(() => writers.ledger.ok >= okBefore + 40, "writes after the restart");
    } finally {
      if (down) cluster.startServer();
      await writers.stop();
    }
    const ledger = writers.ledger;
    // Only successes and MLflow's 503: no 500, no other error, no hung or dropped request.
    expect([...ledger.failures.keys()]).toEqual(["503 TEMPORARILY_UNAVAILABLE"]);
    expect(ledger.unanswered).toBe(0);

    const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
    try {
      const rows = Object.fromEntries(await Promise.all(Object.entries(QUERIES).map(async ([k, q]) => [k, [...(await sql.unsafe(q))]]))) as unknown as Rows;
      verify(ledger, rows);
    } finally {
      await sql.end();
    }
  }, 60_000);

  test("the 503 body during an outage is MLflow's: psycopg2's refused connection through SQLAlchemy", async () => {
    const port = new URL(cluster.url).port;
    cluster.stopServer("fast");
    try {
      // The first request may still meet a pooled connection that the stop closed; after
      // that the pool connects anew and is refused.
      let body: any;
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
        expect(res.status).toBe(503);
        body = await res.json();
        if (body.message.includes("Connection refused")) break;
      }
      expect(body).toEqual({
        error_code: "TEMPORARILY_UNAVAILABLE",
        message:
          `(psycopg2.OperationalError) connection to server at "127.0.0.1", port ${port} failed: Connection refused\n` +
          "\tIs the server running on that host and accepting TCP/IP connections?\n\n" +
          "(Background on this error at: https://sqlalche.me/e/21/e3q8)",
        sqlstate: "XXM00",
        error_class: "CLIENT_INTERNAL_ERROR",
      });
    } finally {
      cluster.startServer();
    }
    const res = await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(res.status).toBe(200);
  }, 60_000);
});

// A process that holds SQLite's write lock until told (a line on stdin), as another server's
// long write transaction would.
const LOCK_HOLDER = `
const { Database } = require("bun:sqlite");
const db = new Database(process.argv[1]);
db.exec("BEGIN IMMEDIATE");
process.stdout.write("locked\\n");
process.stdin.once("data", () => { db.exec("ROLLBACK"); db.close(); process.exit(0); });
`;

describe("SQLite locked by another process for longer than busy_timeout", () => {
  let server: RunningServer;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mlflow-bun-locked-"));
    file = join(dir, "mlflow.db");
    server = await startServer(config(dir, `sqlite:///${file}`), { signals: false, quiet: true });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a write answers MLflow's 503 'database is locked' after busy_timeout; reads are served meanwhile; writes work after", async () => {
    const seeded = await seed(server.url, 1);
    const runId = seeded.runIds[0]!;
    const holder = Bun.spawn([process.execPath, "-e", LOCK_HOLDER, file], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    try {
      const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toBe("locked\n");

      const log = (step: number) =>
        fetch(`${server.url}/api/2.0/mlflow/runs/log-metric`, {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ run_id: runId, key: "m", value: 1, timestamp: 1, step }),
          signal: AbortSignal.timeout(60_000),
        });
      let written: Response | undefined;
      const write = log(1).then((r) => (written = r));
      // While the write waits for the lock, the server keeps answering reads (the wait must not
      // block the process: bun:sqlite is synchronous).
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${server.url}/api/2.0/mlflow/runs/get?run_id=${runId}`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
        expect(res.status).toBe(200);
      }
      expect(written).toBeUndefined();

      const res = await write;
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error_code: "TEMPORARILY_UNAVAILABLE", message: "database is locked", sqlstate: "XXM00", error_class: "CLIENT_INTERNAL_ERROR",
      });
    } finally {
      holder.stdin.write("release\n");
      holder.stdin.end();
      await holder.exited;
    }
    const after = await fetch(`${server.url}/api/2.0/mlflow/runs/log-metric`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ run_id: runId, key: "m", value: 2, timestamp: 1, step: 2 }),
    });
    expect(after.status).toBe(200);
    const history = await (await fetch(`${server.url}/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=m`)).json();
    expect((history as any).metrics.map((m: any) => m.step)).toEqual([2]);
  }, 60_000);
});
