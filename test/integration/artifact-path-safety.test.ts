// The payloads of MLflow's published path-traversal CVEs (see /work/shared/reference, CVE table),
// raw, single- and double-encoded, sent to every artifact route. Canary files sit next to the
// artifacts destination and behind symlinks inside it: nothing outside the destination may be
// read, written, listed or deleted, and each request gets MLflow's answer. Which paths MLflow
// rejects is asked of MLflow itself: its validate_path_is_safe, run once in .venv's Python.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startTestServer, type TestServer } from "../support/server";

const ROOT = resolve(import.meta.dir, "../..");
const SECRET = "canary-secret-3f9a";

/** The traversal payloads, as the artifact path the handler receives (after one decoding). */
function payloads(outside: string): string[] {
  const abs = join(outside, "canary.txt");
  const up = "../".repeat(12);
  return [
    "../outside/canary.txt", // CVE-2023-30172
    `${up}${abs.slice(1)}`, // CVE-2023-6977, CVE-2026-2033
    abs, // absolute path
    `file://${abs}`, // file URI
    "C:/Windows/win.ini", "C:\\Windows\\win.ini", "\\\\server\\share\\x", "//server/share/x", // CVE-2023-3765
    "%2E%2E%2Foutside%2Fcanary.txt", "%252E%252E%252Foutside%252Fcanary.txt", // CVE-2023-6831, CVE-2024-1560
    "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
    "#/../outside/canary.txt", "x#/../../outside", "http:///#/../../outside/canary.txt", // CVE-2024-1483/2928/3848
    "http:///?/../../outside/canary.txt", // CVE-2023-6909
    "a/../../outside/canary.txt", "a/%2e%2e/%2e%2e/outside", "./../outside",
    "..\\outside\\canary.txt", // a backslash is a name character on POSIX: stays inside
    "link/canary.txt", "link", "filelink", "link/sub/deep.txt", // symlinks inside the destination
    "%25252e%25252e%25252foutside", // decodes three times
    "%2525252525252525252525252e", // more than MLflow's 10 decoding rounds: its ValueError
    "x\u0000/../../outside", "x\n/../outside",
  ];
}

type Verdict = { ok: true; path: string } | { ok: false; error: "invalid" | "value" };

/** MLflow's own verdict on each path (validate_path_is_safe), from .venv's Python. */
function mlflowVerdicts(paths: string[]): Verdict[] {
  const script = `
import json, sys
from mlflow.exceptions import MlflowException
from mlflow.utils.uri import validate_path_is_safe
out = []
for p in json.load(sys.stdin):
    try: out.append({"ok": True, "path": validate_path_is_safe(p)})
    except MlflowException: out.append({"ok": False, "error": "invalid"})
    except ValueError: out.append({"ok": False, "error": "value"})
print(json.dumps(out))`;
  const r = Bun.spawnSync([join(ROOT, ".venv/bin/python"), "-c", script], { stdin: Buffer.from(JSON.stringify(paths)) });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString());
}

/** Every file under `dir` with its content (links listed, not followed), for before/after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      const st = statSync(full, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(full);
      else out[full] = st ? readFileSync(full, "utf8") : "(dangling)";
    }
  };
  walk(dir);
  return out;
}

/** An HTTP request with the path exactly as given (fetch would normalize `..` segments). */
function raw(port: number, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const socket = connect(port, "127.0.0.1", () =>
      socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
    );
    let text = "";
    socket.on("data", (d) => (text += d.toString("latin1")));
    socket.on("error", fail);
    socket.on("end", () => done({ status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) }));
  });
}

const enc = (p: string) => encodeURIComponent(p);
/** The three spellings of one payload in a URL: minimal (what must be escaped), encoded, double-encoded. */
const spellings = (p: string) => [encodeURI(p).replace(/#/g, "%23").replace(/\?/g, "%3F"), enc(p), enc(enc(p))];

describe("artifact routes against MLflow's path-traversal CVEs", () => {
  let s: TestServer;
  let base: string;
  let dest: string;
  let outside: string;
  let port: number;
  let runId: string;
  let localRunId: string;
  let before: Record<string, string>;
  let cases: { payload: string; verdict: Verdict }[];

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "mlflow-bun-traversal-"));
    dest = join(base, "dest");
    outside = join(base, "outside");
    mkdirSync(join(outside, "sub"), { recursive: true });
    writeFileSync(join(outside, "canary.txt"), SECRET);
    writeFileSync(join(outside, "sub", "deep.txt"), SECRET);
    mkdirSync(join(dest, "a"), { recursive: true });
    writeFileSync(join(dest, "a", "inside.txt"), "inside");
    symlinkSync(outside, join(dest, "link"));
    symlinkSync(join(outside, "canary.txt"), join(dest, "filelink"));
    s = await startTestServer("sqlite", { artifactsDestination: dest });
    port = Number(new URL(s.url).port);
    runId = (await s.call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: "0" })).body.run.info.run_id;
    const localRoot = join(base, "local-root");
    const exp = await s.call("POST", "/api/2.0/mlflow/experiments/create", { name: "local", artifact_location: localRoot });
    localRunId = (await s.call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: exp.body.experiment_id })).body.run.info.run_id;
    mkdirSync(join(localRoot, localRunId, "artifacts"), { recursive: true });
    symlinkSync(outside, join(localRoot, localRunId, "artifacts", "link"));
    symlinkSync(join(outside, "canary.txt"), join(localRoot, localRunId, "artifacts", "filelink"));
    await s.call("POST", "/api/2.0/mlflow/registered-models/create", { name: "m" });
    await s.call("POST", "/api/2.0/mlflow/model-versions/create", { name: "m", source: join(localRoot, localRunId, "artifacts"), run_id: localRunId });
    const list = payloads(outside);
    cases = mlflowVerdicts(list).map((verdict, i) => ({ payload: list[i]!, verdict }));
    before = snapshot(outside);
  }, 120_000); // importing mlflow takes seconds
  afterAll(async () => {
    await s.stop();
    rmSync(base, { recursive: true, force: true });
  });

  /** What MLflow answers for a path it rejects; for one it accepts, never anything from outside. */
  const check = (verdict: Verdict, r: { status: number; body: string; rerouted: boolean }, what: string) => {
    expect(r.body, what).not.toContain(SECRET);
    if (what.startsWith("list") && r.status === 200) {
      for (const f of JSON.parse(r.body).files ?? []) expect(["canary.txt", "sub", "deep.txt"], what).not.toContain(f.path);
    }
    if (r.rerouted) {
      // `..` and `%2e%2e` segments are resolved by the URL parser before the request is sent:
      // it reaches another URL, another route or a path inside the destination (the raw test
      // below sends such paths unresolved)
      expect([200, 400, 404, 405, 500, 501], what).toContain(r.status);
    } else if (!verdict.ok && verdict.error === "invalid") {
      expect({ what, status: r.status, message: JSON.parse(r.body).message }).toEqual({ what, status: 400, message: "Invalid path" });
    } else if (!verdict.ok) {
      expect({ what, status: r.status }).toEqual({ what, status: 500 });
    } else {
      expect([200, 400, 403, 404, 500, 501], what).toContain(r.status); // 500: verify_artifact_path, as MLflow
    }
  };

  const send = async (method: string, url: string, body?: unknown) => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "content-type": "application/json" };
    } else if (method === "PUT") init.body = "overwritten";
    const target = new URL(s.url + url);
    const res = await fetch(target, init);
    return { status: res.status, body: await res.text(), rerouted: target.pathname !== url.split("?")[0] };
  };

  test("the payloads MLflow rejects are the ones mlflow-bun rejects (validate_path_is_safe)", () => {
    const { validatePathIsSafe } = require("../../src/services/artifact-paths");
    for (const { payload, verdict } of cases) {
      let got: Verdict;
      try {
        got = { ok: true, path: validatePathIsSafe(payload) };
      } catch (e) {
        got = { ok: false, error: (e as Error).constructor.name === "MlflowError" ? "invalid" : "value" };
      }
      expect({ payload, got }).toEqual({ payload, got: verdict });
    }
  });

  test("mlflow-artifacts routes: download, upload, delete, list, multipart", async () => {
    for (const { payload, verdict } of cases) {
      for (const p of spellings(payload)) {
        for (const api of ["/api/2.0", "/ajax-api/2.0"]) {
          const artifacts = `${api}/mlflow-artifacts/artifacts`;
          check(verdict, await send("GET", `${artifacts}/${p}`), `GET ${p}`);
          check(verdict, await send("PUT", `${artifacts}/${p}`), `PUT ${p}`);
          check(verdict, await send("GET", `${artifacts}?path=${p}`), `list ${p}`);
          if (!p.startsWith("%2F") && !p.startsWith("/")) check(verdict, await send("DELETE", `${artifacts}/${p}`), `DELETE ${p}`);
          for (const op of ["create", "complete", "abort"]) {
            const body = { path: "f.bin", num_parts: 1, upload_id: "u", parts: [{ part_number: 1, etag: "e" }] };
            if (!p.startsWith("%2F") && !p.startsWith("/")) check(verdict, await send("POST", `${api}/mlflow-artifacts/mpu/${op}/${p}`, body), `mpu ${op} ${p}`);
            // the file name in the body: its basename only, so it can never leave the directory
            const r = await send("POST", `${api}/mlflow-artifacts/mpu/${op}/a`, { ...body, path: payload }); // `a` exists
            expect(r.body).not.toContain(SECRET);
            expect([400, 500, 501], `mpu ${op} body ${payload}`).toContain(r.status); // 500: the undecodable one
          }
        }
      }
    }
    expect(snapshot(outside)).toEqual(before);
    expect(readFileSync(join(dest, "a", "inside.txt"), "utf8")).toBe("inside");
  }, 120_000);

  test("the UI's /get-artifact and /model-versions/get-artifact", async () => {
    for (const { payload, verdict } of cases) {
      for (const p of spellings(payload)) {
        for (const run of [runId, localRunId]) check(verdict, await send("GET", `/get-artifact?run_id=${run}&path=${p}`), `get-artifact ${run} ${p}`);
        check(verdict, await send("GET", `/model-versions/get-artifact?name=m&version=1&path=${p}`), `model-versions ${p}`);
      }
    }
    expect(snapshot(outside)).toEqual(before);
  }, 60_000);

  test("symlinks inside a destination never lead out: MLflow's 'outside the artifact directory'", async () => {
    const outsideError = "Invalid path: resolved path is outside the artifact directory";
    for (const path of ["link/canary.txt", "filelink", "link/sub/deep.txt"]) {
      for (const r of [
        await send("GET", `/api/2.0/mlflow-artifacts/artifacts/${path}`),
        await send("PUT", `/api/2.0/mlflow-artifacts/artifacts/${path}`),
        await send("DELETE", `/api/2.0/mlflow-artifacts/artifacts/${path}`),
        await send("GET", `/get-artifact?run_id=${localRunId}&path=${path}`),
      ]) {
        expect({ path, status: r.status, message: JSON.parse(r.body).message }).toEqual({ path, status: 400, message: outsideError });
      }
    }
    expect((await send("GET", "/api/2.0/mlflow-artifacts/artifacts?path=link")).status).toBe(400);
    expect(snapshot(outside)).toEqual(before);
  });

  test("raw `..` segments in the URL path are resolved by the HTTP server: never an artifact route", async () => {
    for (const method of ["GET", "PUT", "DELETE", "POST"]) {
      for (const path of [
        "/api/2.0/mlflow-artifacts/artifacts/../../../../outside/canary.txt",
        "/api/2.0/mlflow-artifacts/artifacts/%2e%2e/%2e%2e/%2e%2e/outside/canary.txt",
        "/api/2.0/mlflow-artifacts/artifacts/a/..\\..\\..\\outside/canary.txt",
        `/api/2.0/mlflow-artifacts/mpu/create/../../../${outside.slice(1)}`,
      ]) {
        const r = await raw(port, method, path);
        expect(r.body).not.toContain(SECRET);
        expect([400, 404, 405]).toContain(r.status);
      }
    }
    expect(snapshot(outside)).toEqual(before);
  });

  test("`..` in query strings: list and get-artifact reject it", async () => {
    for (const q of ["..", "../outside", "a/../..", "%2e%2e", "a%2F..%2F..%2Foutside"]) {
      for (const url of [`/api/2.0/mlflow-artifacts/artifacts?path=${q}`, `/get-artifact?run_id=${runId}&path=${q}`]) {
        const r = await send("GET", url);
        expect({ url, status: r.status, message: JSON.parse(r.body).message }).toEqual({ url, status: 400, message: "Invalid path" });
      }
    }
  });
});
