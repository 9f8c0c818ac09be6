// artifacts/list on both dialects: local artifact roots (paths and file: URIs) and
// mlflow-artifacts: roots under the artifacts destination, listed as MLflow 3.18.0 lists them
// (root_uri, files by path, sizes, no staging files), MLflow's path checks, and roots it
// cannot read (s3:, a remote destination, not serving artifacts): Python's, or 501.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "../../src/store/db";
import { sql } from "../../src/store/sql";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";

const P = "a7000000000000000000000000000001"; // mlflow-artifacts:/
const L = "a7000000000000000000000000000002"; // an absolute local path
const F = "a7000000000000000000000000000003"; // a file: URI
const S = "a7000000000000000000000000000004"; // s3:

function files(dir: string, entries: Record<string, string | null>) {
  for (const [path, content] of Object.entries(entries)) {
    const full = join(dir, path);
    if (content === null) mkdirSync(full, { recursive: true });
    else {
      mkdirSync(join(full, ".."), { recursive: true });
      writeFileSync(full, content);
    }
  }
}

async function insertRun(db: Db, runId: string, artifactUri: string) {
  await db.run(sql`
    INSERT INTO runs (run_uuid, name, user_id, status, start_time, lifecycle_stage, artifact_uri, experiment_id)
    VALUES (${runId}, 'r', 'u', 'RUNNING', 1, 'active', ${artifactUri}, 0)`);
}

for (const dialect of DIALECTS) {
  describe(`artifacts/list (${dialect})`, () => {
    let s: TestServer;
    let db: Db;
    let dir: string;
    const list = (query: Record<string, unknown>) => s.call("GET", "/api/2.0/mlflow/artifacts/list", query);
    const invalid = async (query: Record<string, unknown>, message: string) => {
      const r = await list(query);
      expect(r.body).toEqual({ error_code: "INVALID_PARAMETER_VALUE", message, sqlstate: "KAM00", error_class: "INVALID_PARAMETER_VALUE" });
      expect(r.status).toBe(400);
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mlflow-bun-artifacts-"));
      const destination = join(dir, "dest");
      s = await startTestServer(dialect, { artifactsDestination: destination });
      db = openDb(s.backendStoreUri, { poolSize: 2 });
      files(join(destination, "0", P, "artifacts"), {
        "a.txt": "hello\n", "empty.txt": "", "sub/b.bin": "x\n", "dir x/c": "ccc", ".hidden": "h", ".artifact.uploading.123": "partial", "zz/": null,
      });
      symlinkSync("/etc", join(destination, "0", P, "artifacts", "etc"));
      files(join(dir, "local", L, "artifacts"), { "d/f": "abc\n", z: "1\n" });
      files(join(dir, "local", F, "artifacts"), { "x y/1": "1" });
      await insertRun(db, P, `mlflow-artifacts:/0/${P}/artifacts`);
      await insertRun(db, L, join(dir, "local", L, "artifacts"));
      await insertRun(db, F, `file://${join(dir, "local", F, "artifacts")}`);
      await insertRun(db, S, "s3://bucket/0/artifacts");
    });
    afterAll(async () => {
      await db.close();
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test("an mlflow-artifacts: root, resolved under the artifacts destination", async () => {
      const root = `mlflow-artifacts:/0/${P}/artifacts`;
      expect((await list({ run_id: P })).body).toEqual({
        root_uri: root,
        files: [
          { path: ".hidden", is_dir: false, file_size: 1 },
          { path: "a.txt", is_dir: false, file_size: 6 },
          { path: "dir x", is_dir: true },
          { path: "empty.txt", is_dir: false }, // FileInfo.to_proto leaves a size of 0 out
          { path: "etc", is_dir: true },
          { path: "sub", is_dir: true },
          { path: "zz", is_dir: true },
        ],
      });
      expect((await list({ run_id: P, path: "sub" })).body).toEqual({ root_uri: root, files: [{ path: "sub/b.bin", is_dir: false, file_size: 2 }] });
      expect((await list({ run_id: P, path: "dir%2520x" })).body.files).toEqual([{ path: "dir x/c", is_dir: false, file_size: 3 }]); // decoded until stable
      expect((await list({ run_id: P, path: "sub/./" })).body.files).toEqual([{ path: "sub/./b.bin", is_dir: false, file_size: 2 }]);
      expect((await list({ run_id: P, path: "" })).body.files.length).toBe(7);
      expect((await list({ run_id: P, path: "a.txt" })).body).toEqual({ root_uri: root });
      expect((await list({ run_id: P, path: "nope" })).body).toEqual({ root_uri: root });
      expect((await s.call("GET", "/ajax-api/2.0/mlflow/artifacts/list", { run_uuid: P, path: "zz" })).body).toEqual({ root_uri: root });
    });

    test("local roots: a path and a file: URI", async () => {
      const root = join(dir, "local", L, "artifacts");
      expect((await list({ run_id: L })).body).toEqual({ root_uri: root, files: [{ path: "d", is_dir: true }, { path: "z", is_dir: false, file_size: 2 }] });
      expect((await list({ run_id: L, path: "./d/" })).body.files).toEqual([{ path: "d/f", is_dir: false, file_size: 4 }]);
      expect((await list({ run_id: F })).body).toEqual({ root_uri: `file://${join(dir, "local", F, "artifacts")}`, files: [{ path: "x y", is_dir: true }] });
    });

    test("MLflow's path checks: no traversal, no absolute paths, no fragments, no escaping symlinks", async () => {
      for (const path of ["../x", "sub/../../x", "%2e%2e/x", "%252e%252e/x", "/etc", "C:/x", "//server/share/x", "a#b", "file:///etc"]) {
        await invalid({ run_id: P, path }, "Invalid path");
      }
      await invalid({ run_id: P, path: "etc" }, "Invalid path: resolved path is outside the artifact directory");
      await invalid({ path: "x" }, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.");
      const missing = await list({ run_id: "nope" });
      expect(missing.status).toBe(404);
      expect(missing.body.message).toBe("Run with id=nope not found");
    });

    test("roots only MLflow's artifact repositories read: 501 without --python-url", async () => {
      const r = await list({ run_id: S });
      expect(r.status).toBe(501);
      expect(r.body.error_code).toBe("NOT_IMPLEMENTED");
      expect(r.body.message).toBe(
        "/api/2.0/mlflow/artifacts/list needs the MLflow Python server for artifact root s3://bucket/0/artifacts; start mlflow-bun with --python-url to serve it.",
      );
    });
  });
}

describe("artifacts/list through the Python server", () => {
  let upstream: ReturnType<typeof Bun.serve>;
  let s: TestServer;
  let db: Db;
  const seen: string[] = [];

  beforeAll(async () => {
    upstream = Bun.serve({
      port: 0,
      fetch(req) {
        const url = new URL(req.url);
        seen.push(url.pathname + url.search);
        return Response.json({ root_uri: "from-python" });
      },
    });
    // Not serving artifacts: mlflow-artifacts: roots are Python's too (its HTTP repository).
    s = await startTestServer("sqlite", { pythonUrl: `http://127.0.0.1:${upstream.port}`, serveArtifacts: false });
    db = openDb(s.backendStoreUri, { poolSize: 1 });
    await insertRun(db, S, "s3://bucket/0/artifacts");
    await insertRun(db, P, `mlflow-artifacts:/0/${P}/artifacts`);
  });
  afterAll(async () => {
    await db.close();
    await s.stop();
    upstream.stop(true);
  });

  test("the request goes to Python unchanged, and its answer comes back", async () => {
    expect((await s.call("GET", "/api/2.0/mlflow/artifacts/list", { run_id: S, path: "a b" })).body).toEqual({ root_uri: "from-python" });
    expect((await s.call("GET", "/ajax-api/2.0/mlflow/artifacts/list", { run_id: P })).body).toEqual({ root_uri: "from-python" });
    expect(seen).toEqual([`/api/2.0/mlflow/artifacts/list?run_id=${S}&path=a+b`, `/ajax-api/2.0/mlflow/artifacts/list?run_id=${P}`]);
    // checks MLflow makes before it looks at the root still answer natively
    expect((await s.call("GET", "/api/2.0/mlflow/artifacts/list", { run_id: S, path: "../x" })).status).toBe(400);
  });
});
