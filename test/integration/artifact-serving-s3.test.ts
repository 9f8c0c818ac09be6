// The artifact routes with an S3 --artifacts-destination and s3: run roots, against moto in
// server mode (a real S3-compatible endpoint): upload, download, list, delete, MLflow's
// multipart upload through presigned part URLs, /get-artifact and artifacts/list.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { S3Client } from "bun";
import { startTestServer, type TestServer } from "../support/server";
import { MOTO_CREDENTIALS, motoUnavailable, startMoto, type Moto } from "../support/moto";

const ART = "/api/2.0/mlflow-artifacts/artifacts";
const unavailable = motoUnavailable();
if (unavailable) console.warn(`skipping the S3 artifact tests: ${unavailable}`);

describe.skipIf(!!unavailable)("artifact routes, S3 destination (moto)", () => {
  let moto: Moto;
  let s: TestServer;
  let bucket: S3Client;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    moto = await startMoto();
    await moto.createBucket("artifacts");
    // the server reads S3 settings from the environment, as MLflow does; restored afterwards
    for (const [k, v] of Object.entries(moto.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    bucket = new S3Client({ ...MOTO_CREDENTIALS, endpoint: moto.endpoint, bucket: "artifacts" });
    s = await startTestServer("sqlite", { artifactsDestination: "s3://artifacts/mlartifacts" });
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    moto?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const call = async (method: string, path: string, body?: string | Uint8Array | ReadableStream | object) => {
    const init: RequestInit = { method };
    if (body !== undefined && typeof body === "object" && !(body instanceof Uint8Array)) {
      init.body = JSON.stringify(body);
      init.headers = { "content-type": "application/json" };
    } else if (body !== undefined) init.body = body as string | Uint8Array | ReadableStream;
    const res = await fetch(s.url + path, init);
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, text, body: parsed, headers: res.headers };
  };

  test("upload lands under the destination's prefix; download and list read it back", async () => {
    expect((await call("PUT", `${ART}/0/r/artifacts/dir/a.txt`, "hello")).status).toBe(200);
    expect((await call("PUT", `${ART}/0/r/artifacts/b.bin`, "")).status).toBe(200);
    expect(await bucket.file("mlartifacts/0/r/artifacts/dir/a.txt").text()).toBe("hello");
    const get = await call("GET", `${ART}/0/r/artifacts/dir/a.txt`);
    expect([get.status, get.text, get.headers.get("content-type"), get.headers.get("content-disposition")]).toEqual([
      200, "hello", "text/plain", "attachment; filename=a.txt",
    ]);
    expect((await call("GET", `${ART}?path=0/r/artifacts`)).body).toEqual({ files: [{ path: "b.bin", is_dir: false }, { path: "dir", is_dir: true }] });
    expect((await call("GET", `${ART}?path=0/r/artifacts/dir`)).body).toEqual({ files: [{ path: "a.txt", is_dir: false, file_size: 5 }] });
    expect((await call("GET", `${ART}?path=nothing`)).body).toEqual({});
  });

  test("download errors: missing, a directory", async () => {
    expect(await call("GET", `${ART}/0/r/artifacts/nope`)).toMatchObject({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST", message: "No such artifact: '0/r/artifacts/nope'" } });
    expect(await call("GET", `${ART}/0/r/artifacts/dir`)).toMatchObject({ status: 400, body: { detail: "Artifact path refers to a directory, not a file: '0/r/artifacts/dir'" } });
  });

  test("a streamed upload of several parts", async () => {
    const chunk = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) % 256);
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (n++ < 12) c.enqueue(chunk);
        else c.close();
      },
    });
    expect((await fetch(`${s.url}${ART}/big/blob`, { method: "PUT", body, duplex: "half" } as RequestInit)).status).toBe(200);
    const res = await fetch(`${s.url}${ART}/big/blob`);
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.length).toBe(12 * chunk.length);
    expect(back.subarray(11 * chunk.length)).toEqual(chunk);
  });

  test("multipart: presigned part URLs, then complete; abort discards", async () => {
    const part = new Uint8Array(5 * 1024 * 1024).fill(1); // S3's minimum for all but the last part
    const create = await call("POST", "/api/2.0/mlflow-artifacts/mpu/create/0/r/artifacts/mpu", { path: "/local/dir/model.bin", num_parts: 2 });
    expect(create.status).toBe(200);
    expect(create.body.credentials.map((c: any) => c.part_number)).toEqual([1, 2]);
    const parts = [];
    for (const [i, cred] of create.body.credentials.entries()) {
      const res = await fetch(cred.url, { method: "PUT", body: i === 0 ? part : new Uint8Array([2, 3]), headers: cred.headers });
      expect(res.status).toBe(200);
      parts.push({ part_number: cred.part_number, etag: res.headers.get("etag") });
    }
    const done = await call("POST", "/api/2.0/mlflow-artifacts/mpu/complete/0/r/artifacts/mpu", { path: "model.bin", upload_id: create.body.upload_id, parts });
    expect([done.status, done.body]).toEqual([200, {}]);
    const file = bucket.file("mlartifacts/0/r/artifacts/mpu/model.bin");
    expect((await file.stat()).size).toBe(part.length + 2);
    const back = await call("GET", `${ART}/0/r/artifacts/mpu/model.bin`);
    expect([back.status, back.text.length]).toEqual([200, part.length + 2]);

    const second = await call("POST", "/ajax-api/2.0/mlflow-artifacts/mpu/create/0/r/artifacts/mpu", { path: "other.bin", num_parts: 1 });
    const abort = await call("POST", "/ajax-api/2.0/mlflow-artifacts/mpu/abort/0/r/artifacts/mpu", { path: "other.bin", upload_id: second.body.upload_id });
    expect([abort.status, abort.body]).toEqual([200, {}]);
    expect(await bucket.file("mlartifacts/0/r/artifacts/mpu/other.bin").exists()).toBe(false);
  }, 60_000);

  test("delete: a key, a prefix (never its siblings)", async () => {
    await call("PUT", `${ART}/del/x/1.txt`, "1");
    await call("PUT", `${ART}/del/x/2.txt`, "2");
    await call("PUT", `${ART}/del/xy.txt`, "sibling");
    expect(await call("DELETE", `${ART}/del/x/1.txt`)).toMatchObject({ status: 200, body: {} });
    expect(await bucket.file("mlartifacts/del/x/1.txt").exists()).toBe(false);
    expect(await call("DELETE", `${ART}/del/x`)).toMatchObject({ status: 200, body: {} });
    expect(await bucket.file("mlartifacts/del/x/2.txt").exists()).toBe(false);
    expect(await bucket.file("mlartifacts/del/xy.txt").exists()).toBe(true);
  });

  test("runs: /get-artifact and artifacts/list through the destination, and s3: run roots", async () => {
    const runId = (await call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: "0" })).body.run.info.run_id;
    await call("PUT", `${ART}/0/${runId}/artifacts/m/MLmodel`, "flavors: {}\n");
    const got = await call("GET", `/get-artifact?run_id=${runId}&path=m/MLmodel`);
    expect([got.status, got.text]).toEqual([200, "flavors: {}\n"]);
    const listed = await call("GET", `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=m`);
    expect(listed.body).toEqual({ root_uri: `mlflow-artifacts:/0/${runId}/artifacts`, files: [{ path: "m/MLmodel", is_dir: false, file_size: 12 }] });

    const exp = await call("POST", "/api/2.0/mlflow/experiments/create", { name: "on-s3", artifact_location: "s3://artifacts/direct" });
    const s3Run = (await call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: exp.body.experiment_id })).body.run.info;
    await bucket.write(`direct/${s3Run.run_id}/artifacts/d/f.txt`, "direct");
    expect((await call("GET", `/api/2.0/mlflow/artifacts/list?run_id=${s3Run.run_id}`)).body).toEqual({
      root_uri: s3Run.artifact_uri,
      files: [{ path: "d", is_dir: true }],
    });
    expect((await call("GET", `/get-artifact?run_id=${s3Run.run_id}&path=d/f.txt`)).text).toBe("direct");
  });
});
