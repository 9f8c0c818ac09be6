// The artifact routes with a local --artifacts-destination, as MLflow 3.18.0 answers them: the
// mlflow-artifacts API (download and upload as its FastAPI routes, list, delete and multipart as
// its Flask routes), the UI's /get-artifact and /model-versions/get-artifact on both dialects,
// --no-serve-artifacts and --artifacts-only. S3: artifact-serving-s3.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";

const ART = "/api/2.0/mlflow-artifacts/artifacts";
const JSON_HEADERS = { "content-type": "application/json" };

async function req(s: TestServer, method: string, path: string, body?: string | Uint8Array | ReadableStream | object) {
  const init: RequestInit = { method };
  if (typeof body === "object" && !(body instanceof Uint8Array) && !(body instanceof ReadableStream)) {
    init.body = JSON.stringify(body);
    init.headers = JSON_HEADERS;
  } else if (body !== undefined) init.body = body as string | Uint8Array | ReadableStream;
  const res = await fetch(s.url + path, init);
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, text, body: parsed };
}

const mlflowError = (error_code: string, message: string) => {
  const cls: Record<string, [string, string]> = {
    INVALID_PARAMETER_VALUE: ["INVALID_PARAMETER_VALUE", "KAM00"],
    RESOURCE_DOES_NOT_EXIST: ["RESOURCE_NOT_FOUND", "KAM00"],
    PERMISSION_DENIED: ["PERMISSION_DENIED", "KAM00"],
  };
  const [error_class, sqlstate] = cls[error_code]!;
  return { error_code, message, sqlstate, error_class };
};

describe("mlflow-artifacts API, local destination", () => {
  let s: TestServer;
  let dir: string;
  let dest: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mlflow-bun-serving-"));
    dest = join(dir, "dest");
    s = await startTestServer("sqlite", { artifactsDestination: dest });
  });
  afterAll(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("upload answers 200 with no body; download streams the file back as an attachment", async () => {
    const put = await req(s, "PUT", `${ART}/0/run/artifacts/dir/data.json`, '{"a": 1}');
    expect(put.status).toBe(200);
    expect(put.text).toBe("");
    expect(readFileSync(join(dest, "0/run/artifacts/dir/data.json"), "utf8")).toBe('{"a": 1}');
    const get = await req(s, "GET", `${ART}/0/run/artifacts/dir/data.json`);
    expect(get.status).toBe(200);
    expect(get.text).toBe('{"a": 1}');
    expect(get.headers.get("content-type")).toBe("text/plain"); // json is one of MLflow's text extensions
    expect(get.headers.get("content-disposition")).toBe("attachment; filename=data.json");
    expect(get.headers.get("x-content-type-options")).toBe("nosniff");
    expect(get.headers.get("content-length")).toBe("8");
    expect(get.headers.get("last-modified")).toMatch(/GMT$/);
  });

  test("content types and dispositions: MLflow's guesses, quoted and RFC 5987 names", async () => {
    const cases: [string, string, string][] = [
      ["img.png", "image/png", "attachment; filename=img.png"],
      ["MLmodel", "text/plain", "attachment; filename=MLmodel"],
      ["model.pkl", "application/octet-stream", "attachment; filename=model.pkl"],
      ["a b.html", "text/html", 'attachment; filename="a b.html"'],
      ["naïve.txt", "text/plain", "attachment; filename=naive.txt; filename*=UTF-8''na%C3%AFve.txt"],
    ];
    for (const [name, type, disposition] of cases) {
      expect((await req(s, "PUT", `${ART}/types/${encodeURIComponent(name)}`, "x")).status).toBe(200);
      const get = await req(s, "GET", `${ART}/types/${encodeURIComponent(name)}`);
      expect([name, get.headers.get("content-type"), get.headers.get("content-disposition")]).toEqual([name, type, disposition]);
    }
  });

  test("a large upload streams through to the file, and back", async () => {
    const chunk = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 24) controller.enqueue(chunk);
        else controller.close();
      },
    });
    expect((await fetch(`${s.url}${ART}/big/blob.bin`, { method: "PUT", body, duplex: "half" } as RequestInit)).status).toBe(200);
    const res = await fetch(`${s.url}${ART}/big/blob.bin`);
    expect(res.headers.get("content-length")).toBe(String(24 * chunk.length));
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.length).toBe(24 * chunk.length);
    expect(back.subarray(5 * chunk.length, 6 * chunk.length)).toEqual(chunk);
    expect(readdirSync(join(dest, "big"))).toEqual(["blob.bin"]); // no staging file left behind
  });

  test("list: basenames, sizes, staging files hidden, {} for nothing", async () => {
    mkdirSync(join(dest, "l/sub"), { recursive: true });
    writeFileSync(join(dest, "l/a.txt"), "abc");
    writeFileSync(join(dest, "l/empty"), "");
    writeFileSync(join(dest, "l/.artifact.uploading.x"), "partial");
    const r = await req(s, "GET", `${ART}?path=l`);
    expect(r.body).toEqual({ files: [{ path: "a.txt", is_dir: false, file_size: 3 }, { path: "empty", is_dir: false }, { path: "sub", is_dir: true }] });
    expect((await req(s, "GET", `${ART}?path=l/sub`)).body).toEqual({});
    expect((await req(s, "GET", `${ART}?path=nope`)).body).toEqual({});
    expect((await req(s, "GET", "/ajax-api/2.0/mlflow-artifacts/artifacts?path=l/a.txt")).body).toEqual({});
    const root = await req(s, "GET", ART);
    expect(root.body.files.map((f: any) => f.path)).toContain("l");
  });

  test("download errors: a missing file, a directory", async () => {
    expect(await req(s, "GET", `${ART}/nope/x.txt`)).toMatchObject({ status: 404, body: mlflowError("RESOURCE_DOES_NOT_EXIST", "No such artifact: 'nope/x.txt'") });
    expect(await req(s, "GET", `${ART}/l`)).toMatchObject({ status: 400, body: { detail: "Artifact path refers to a directory, not a file: 'l'" } });
  });

  test("upload errors: no file name, a reserved name, the skill registry's namespace", async () => {
    expect(await req(s, "PUT", `${ART}/dir/`, "x")).toMatchObject({ status: 400, body: { detail: "Artifact path must include a filename (cannot end with '/')." } });
    const reserved = await req(s, "PUT", `${ART}/d/.artifact.uploading.1`, "x");
    expect(reserved.status).toBe(400);
    expect(reserved.body.message).toBe("Invalid artifact file name: '.artifact.uploading.1'. Artifact names starting with '.artifact.uploading.' are reserved.");
    expect(await req(s, "PUT", `${ART}/skills/x/y.txt`, "x")).toMatchObject({ status: 403, body: { detail: "Skill upload content is immutable; register a new version instead" } });
    expect(existsSync(join(dest, "skills"))).toBe(false);
  });

  test("delete: a file, a directory tree; {} also for nothing", async () => {
    await req(s, "PUT", `${ART}/del/a/b.txt`, "x");
    await req(s, "PUT", `${ART}/del/c.txt`, "x");
    expect(await req(s, "DELETE", `${ART}/del/c.txt`)).toMatchObject({ status: 200, body: {} });
    expect(existsSync(join(dest, "del/c.txt"))).toBe(false);
    expect(await req(s, "DELETE", "/ajax-api/2.0/mlflow-artifacts/artifacts/del")).toMatchObject({ status: 200, body: {} });
    expect(existsSync(join(dest, "del"))).toBe(false);
    expect(await req(s, "DELETE", `${ART}/del`)).toMatchObject({ status: 200, body: {} });
    expect(await req(s, "DELETE", `${ART}/skills/x`)).toMatchObject({ status: 403, body: mlflowError("PERMISSION_DENIED", "Skill upload content is immutable; register a new version instead") });
  });

  test("multipart on a local destination: MLflow's 501 once the request is valid", async () => {
    const unsupported = { error_code: "NOT_IMPLEMENTED", message: "Multipart upload is not supported for the current artifact repository" };
    for (const op of ["create", "complete", "abort"]) {
      const body = { path: "/home/me/f.bin", num_parts: 2, upload_id: "u", parts: [{ part_number: 1, etag: "e" }] };
      expect(await req(s, "POST", `/api/2.0/mlflow-artifacts/mpu/${op}/x`, body)).toMatchObject({ status: 501, body: unsupported });
      const missing = await req(s, "POST", `/ajax-api/2.0/mlflow-artifacts/mpu/${op}/x`, {});
      expect(missing.status).toBe(400);
      expect(missing.body.message).toBe("Missing value for required parameter 'path'. See the API docs for more information about request parameters.");
      expect((await req(s, "POST", `/api/2.0/mlflow-artifacts/mpu/${op}/x`, { ...body, path: "C:%5C.." })).body.message).toBe("Invalid path");
    }
    const noType = await fetch(`${s.url}/api/2.0/mlflow-artifacts/mpu/create/x`, { method: "POST", body: "{}" });
    expect(noType.status).toBe(400);
  });
});

describe("--no-serve-artifacts", () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer("sqlite", { serveArtifacts: false })));
  afterAll(() => s.stop());

  test("download and upload: FastAPI's 503; the Flask routes: MLflow's 503 text naming the rule", async () => {
    const detail = { detail: "Artifact serving is disabled. Run `mlflow server` with `--serve-artifacts` to enable." };
    expect(await req(s, "GET", `${ART}/a.txt`)).toMatchObject({ status: 503, body: detail });
    expect(await req(s, "PUT", `${ART}/a.txt`, "x")).toMatchObject({ status: 503, body: detail });
    const text = (rule: string) =>
      `Endpoint: ${rule} disabled due to the mlflow server running with \`--no-serve-artifacts\`. To enable artifacts server functionality, run \`mlflow server\` with \`--serve-artifacts\``;
    const list = await req(s, "GET", `${ART}?path=a`);
    expect([list.status, list.text, list.headers.get("content-type")]).toEqual([503, text(ART), "text/html; charset=utf-8"]);
    expect(await req(s, "DELETE", `${ART}/a`)).toMatchObject({ status: 503, text: text(`${ART}/<path:artifact_path>`) });
    expect(await req(s, "POST", "/ajax-api/2.0/mlflow-artifacts/mpu/abort/a", {})).toMatchObject({
      status: 503,
      text: text("/ajax-api/2.0/mlflow-artifacts/mpu/abort/<path:artifact_path>"),
    });
  });
});

describe("--artifacts-only", () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer("sqlite", { artifactsOnly: true })));
  afterAll(() => s.stop());

  test("tracking and registry routes answer MLflow's 503; artifact routes work", async () => {
    const text = (rule: string) =>
      `Endpoint: ${rule} disabled due to the mlflow server running in \`--artifacts-only\` mode. To enable tracking server functionality, run \`mlflow server\` without \`--artifacts-only\``;
    for (const [method, path, rule] of [
      ["POST", "/api/2.0/mlflow/experiments/create", "/api/2.0/mlflow/experiments/create"],
      ["GET", "/ajax-api/2.0/mlflow/runs/get?run_id=x", "/ajax-api/2.0/mlflow/runs/get"],
      ["GET", "/api/2.0/mlflow/registered-models/get?name=m", "/api/2.0/mlflow/registered-models/get"],
      ["GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=x", "/ajax-api/2.0/mlflow/metrics/get-history-bulk"],
      ["GET", "/get-artifact?run_id=x&path=y", "/get-artifact"],
      ["GET", "/model-versions/get-artifact?name=m&version=1&path=y", "/model-versions/get-artifact"],
    ]) {
      const r = await req(s, method!, path!, method === "POST" ? {} : undefined);
      expect([path, r.status, r.text, r.headers.get("content-type")]).toEqual([path, 503, text(rule!), "text/html; charset=utf-8"]);
    }
    expect((await req(s, "PUT", `${ART}/x.txt`, "x")).status).toBe(200);
    expect((await req(s, "GET", `${ART}/x.txt`)).text).toBe("x");
    expect((await req(s, "GET", ART)).body).toEqual({ files: [{ path: "x.txt", is_dir: false, file_size: 1 }] });
  });
});

describe("--artifacts-presigned-only", () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer("sqlite", { artifactsPresignedOnly: true })));
  afterAll(() => s.stop());

  test("proxied uploads and downloads: MLflow's 403 naming the mode", async () => {
    const body = (verb: string, what: string) => ({
      error_code: "PERMISSION_DENIED",
      message:
        `This server requires artifacts to be ${what} storage. Upgrade your MLflow client to match this server (MLflow 3.18.0) ` +
        `or a newer version with presigned-only artifact support, then retry the ${verb}. If you are using the MLflow UI, reload the page to refresh the server settings.`,
      sqlstate: "KAM00",
      error_class: "PERMISSION_DENIED",
      artifacts_presigned_only: true,
    });
    expect(await req(s, "PUT", `${ART}/a.txt`, "x")).toMatchObject({ status: 403, body: body("upload", "uploaded directly to") });
    expect(await req(s, "GET", `${ART}/a.txt`)).toMatchObject({ status: 403, body: body("download", "downloaded directly from") });
    expect(await req(s, "GET", "/get-artifact?run_id=r&path=a")).toMatchObject({ status: 403, body: body("download", "downloaded directly from") });
    expect((await req(s, "GET", "/model-versions/get-artifact?name=m&version=1&path=a")).status).toBe(403);
  });
});

for (const dialect of DIALECTS) {
  describe(`UI downloads (${dialect})`, () => {
    let s: TestServer;
    let dir: string;
    let proxied: string;
    let local: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mlflow-bun-get-artifact-"));
      s = await startTestServer(dialect, { artifactsDestination: join(dir, "dest") });
      proxied = (await req(s, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: "0" })).body.run.info.run_id;
      await req(s, "PUT", `${ART}/0/${proxied}/artifacts/model/MLmodel`, "flavors: {}\n");
      const exp = await req(s, "POST", "/api/2.0/mlflow/experiments/create", { name: "local", artifact_location: join(dir, "local") });
      local = (await req(s, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: exp.body.experiment_id })).body.run.info.run_id;
      mkdirSync(join(dir, "local", local, "artifacts", "d"), { recursive: true });
      writeFileSync(join(dir, "local", local, "artifacts", "d", "f.csv"), "a,b\n");
      await req(s, "POST", "/api/2.0/mlflow/registered-models/create", { name: "m" });
      await req(s, "POST", "/api/2.0/mlflow/model-versions/create", { name: "m", source: `mlflow-artifacts:/0/${proxied}/artifacts/model`, run_id: proxied });
      await req(s, "POST", "/api/2.0/mlflow/model-versions/create", { name: "m", source: join(dir, "local", local, "artifacts", "d"), run_id: local });
    }, 30_000);
    afterAll(async () => {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    test("/get-artifact: mlflow-artifacts: roots through the destination, local roots directly", async () => {
      const a = await req(s, "GET", `/get-artifact?run_id=${proxied}&path=model/MLmodel`);
      expect([a.status, a.text, a.headers.get("content-type"), a.headers.get("content-disposition")]).toEqual([200, "flavors: {}\n", "text/plain", "attachment; filename=MLmodel"]);
      expect(a.headers.get("cache-control")).toBe("no-cache");
      const b = await req(s, "GET", `/get-artifact?run_uuid=${local}&path=d/f.csv`);
      expect([b.status, b.text]).toEqual([200, "a,b\n"]);
    });

    test("/get-artifact errors: MLflow's", async () => {
      expect(await req(s, "GET", `/get-artifact?run_id=${proxied}&path=nope`)).toMatchObject({
        status: 404,
        body: mlflowError("RESOURCE_DOES_NOT_EXIST", `No such artifact: '0/${proxied}/artifacts/nope'`),
      });
      expect(await req(s, "GET", `/get-artifact?run_id=${local}&path=d`)).toMatchObject({
        status: 400,
        body: mlflowError("INVALID_PARAMETER_VALUE", "Artifact path refers to a directory, not a file: 'd'"),
      });
      expect(await req(s, "GET", "/get-artifact?run_id=nope&path=x")).toMatchObject({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST", message: "Run with id=nope not found" } });
      expect((await req(s, "GET", "/get-artifact?path=x")).body.message).toBe("Run with id=None not found");
      const noPath = await req(s, "GET", `/get-artifact?run_id=${local}`);
      expect([noPath.status, noPath.headers.get("content-type")]).toEqual([400, "text/html; charset=utf-8"]);
      expect(await req(s, "GET", `/get-artifact?run_id=${local}&path=%2e%2e/x`)).toMatchObject({ status: 400, body: mlflowError("INVALID_PARAMETER_VALUE", "Invalid path") });
    });

    test("/model-versions/get-artifact: the version's download URI, proxied or local", async () => {
      const a = await req(s, "GET", "/model-versions/get-artifact?name=m&version=1&path=MLmodel");
      expect([a.status, a.text]).toEqual([200, "flavors: {}\n"]);
      const b = await req(s, "GET", "/model-versions/get-artifact?name=m&version=2&path=f.csv");
      expect([b.status, b.text, b.headers.get("content-disposition")]).toEqual([200, "a,b\n", "attachment; filename=f.csv"]);
      const missing = await req(s, "GET", "/model-versions/get-artifact?name=m&version=9&path=f.csv");
      expect([missing.status, missing.body.error_code]).toEqual([404, "RESOURCE_DOES_NOT_EXIST"]);
      expect((await req(s, "GET", "/model-versions/get-artifact?name=m&version=2&path=../x")).body.message).toBe("Invalid path");
    });
  });
}
