// The proxy to the Python server, against a real upstream HTTP server: what mlflow-bun does not
// serve natively reaches the upstream unchanged (method, path, query, headers less hop-by-hop,
// body) and its answer comes back unchanged (status, headers, body), streamed both ways.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { startTestServer, type TestServer } from "../support/server";

interface Seen {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  bodyLength: number;
  bodySha256: string;
  /** The body as text, when short. */
  body?: string;
}

const MB = 1024 * 1024;

/** Deterministic bytes: chunk i of a stream is filled from i, so both ends can hash them. */
function chunkBytes(i: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < size; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[j] = x >>> 24;
  }
  return b;
}

function sha256(parts: Uint8Array[]): string {
  const h = new Bun.CryptoHasher("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** A deferred: a promise with its resolve exposed. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms))]);
}

// ---- the upstream: stands in for `mlflow server` ---------------------------------------------------

function startUpstream() {
  const seen: Seen[] = [];
  // Coordination for the streaming tests (the upstream runs in this process).
  let releaseResponse = deferred();
  let uploadFirstChunk = deferred();
  let releaseUpload = deferred();
  const gzipPayload = JSON.stringify({ compressed: true, filler: "mlflow ".repeat(2000) });
  const gzipped = gzipSync(gzipPayload);

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 1024 * MB,
    idleTimeout: 60,
    async fetch(req) {
      const url = new URL(req.url);
      const parts: Uint8Array[] = [];
      let firstChunkSignalled = false;
      if (req.body) {
        for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
          parts.push(chunk);
          if (url.pathname === "/ctl/upload-hold" && !firstChunkSignalled) {
            firstChunkSignalled = true;
            uploadFirstChunk.resolve();
            await releaseUpload.promise;
          }
        }
      }
      const length = parts.reduce((n, p) => n + p.length, 0);
      const entry: Seen = {
        method: req.method,
        path: url.pathname,
        query: url.search,
        headers: Object.fromEntries(req.headers),
        bodyLength: length,
        bodySha256: sha256(parts),
        body: length <= 64 * 1024 ? new TextDecoder().decode(Buffer.concat(parts)) : undefined,
      };
      seen.push(entry);

      if (url.pathname.startsWith("/ctl/status/")) {
        // /ctl/status/<code>?h=name:value&h=... answers <code> with those headers.
        const headers = new Headers();
        for (const h of url.searchParams.getAll("h")) headers.append(h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1));
        const status = Number(url.pathname.split("/")[3]);
        return new Response(status === 204 || status === 304 ? null : `status ${status} body`, { status, headers });
      }
      if (url.pathname === "/ctl/stream") {
        // ?chunks=N&size=S: N deterministic chunks of S bytes, chunked transfer encoding.
        const chunks = Number(url.searchParams.get("chunks"));
        const size = Number(url.searchParams.get("size"));
        let i = 0;
        return new Response(
          new ReadableStream({
            type: "direct",
            async pull(controller: any) {
              for (; i < chunks; i++) {
                controller.write(chunkBytes(i, size));
                await controller.flush();
              }
              controller.close();
            },
          } as any),
          { headers: { "content-type": "application/octet-stream", "x-chunks": String(chunks) } },
        );
      }
      if (url.pathname === "/ctl/hold") {
        // First chunk now, the rest only once the test has seen the first chunk arrive.
        return new Response(
          new ReadableStream({
            type: "direct",
            async pull(controller: any) {
              controller.write("first;");
              await controller.flush();
              await releaseResponse.promise;
              controller.write("second");
              controller.close();
            },
          } as any),
          { headers: { "content-type": "text/plain" } },
        );
      }
      if (url.pathname === "/ctl/gzip") {
        return new Response(gzipped, { headers: { "content-type": "application/json", "content-encoding": "gzip", vary: "Accept-Encoding" } });
      }
      if (url.pathname === "/ctl/hop") {
        return new Response("hop", {
          headers: { connection: "x-resp-hop", "x-resp-hop": "1", "keep-alive": "timeout=5", "proxy-authenticate": "Basic", trailer: "x-t", upgrade: "h2c", "x-end-to-end": "kept" },
        });
      }
      if (url.pathname === "/") {
        return new Response("<!doctype html><title>MLflow</title>", { headers: { "content-type": "text/html; charset=utf-8" } });
      }
      // Everything else: echo what arrived.
      return Response.json(entry, {
        status: 200,
        headers: [
          ["x-upstream", "echo"],
          ["set-cookie", "a=1; Path=/"],
          ["set-cookie", "b=2; Path=/; HttpOnly"],
          ["cache-control", "no-store"],
        ],
      });
    },
  });
  return {
    server,
    url: `http://127.0.0.1:${server.port}`,
    seen,
    gzipPayload,
    gzipped,
    holdResponse: () => (releaseResponse = deferred()),
    releaseResponse: () => releaseResponse.resolve(),
    holdUpload: () => {
      uploadFirstChunk = deferred();
      releaseUpload = deferred();
      return uploadFirstChunk.promise;
    },
    releaseUpload: () => releaseUpload.resolve(),
  };
}

// ---- a raw HTTP/1.1 client: headers exactly as written, responses exactly as sent ------------------

interface RawResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

function rawRequest(base: string, head: string, body?: Uint8Array): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("connect", () => {
      socket.write(head.replace(/\n/g, "\r\n") + "\r\n");
      if (body) socket.write(body);
    });
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", reject);
    socket.on("end", () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      const lines = all.subarray(0, split).toString("latin1").split("\r\n");
      const status = Number(lines[0]!.split(" ")[1]);
      const headers = lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()] as [string, string]);
      let rest = all.subarray(split + 4);
      if (headers.some(([k, v]) => k === "transfer-encoding" && /chunked/i.test(v))) {
        const out: Buffer[] = [];
        for (;;) {
          const eol = rest.indexOf("\r\n");
          const size = parseInt(rest.subarray(0, eol).toString(), 16);
          if (!size) break;
          out.push(rest.subarray(eol + 2, eol + 2 + size));
          rest = rest.subarray(eol + 2 + size + 2);
        }
        rest = Buffer.concat(out);
      }
      resolve({ status, headers, body: rest });
    });
  });
}

// ---- the tests -------------------------------------------------------------------------------------

describe("proxy to --python-url", () => {
  let up: ReturnType<typeof startUpstream>;
  let s: TestServer;

  beforeAll(async () => {
    up = startUpstream();
    // A gs: destination is not served natively, so artifact uploads stream through the proxy.
    // The Host test below sends mlflow.example.com, which MLflow's default allow-list refuses.
    s = await startTestServer("sqlite", {
      pythonUrl: up.url,
      artifactsDestination: "gs://bucket/x",
      allowedHosts: "mlflow.example.com:8080,127.0.0.1:*",
    });
  }, 30_000);
  afterAll(async () => {
    await s?.stop();
    up?.server.stop(true);
  }, 30_000);

  const last = () => up.seen[up.seen.length - 1]!;

  test("GET of a non-native MLflow API path: method, path and query arrive unchanged", async () => {
    const query = "?run_id=abc123&x=1&x=2&filter=metrics.rmse%20%3C%201%20and%20tags.%22a%2Fb%22%20%3D%20%27c%27&empty=&%E2%9C%93=ok";
    const res = await fetch(`${s.url}/api/3.0/mlflow/scorers/list${query}`);
    expect(res.status).toBe(200);
    const echoed = (await res.json()) as Seen;
    expect(echoed).toMatchObject({ method: "GET", path: "/api/3.0/mlflow/scorers/list", query, bodyLength: 0 });
    expect(last()).toEqual(echoed);
  });

  test("request headers arrive unchanged, hop-by-hop ones (and those Connection names) removed", async () => {
    const r = await rawRequest(
      s.url,
      [
        "GET /ajax-api/2.0/mlflow/runs/search?max_results=5 HTTP/1.1",
        "Host: mlflow.example.com:8080",
        "Authorization: Bearer secret-token",
        "Cookie: session=xyz; other=1",
        "X-Custom: some value",
        "X-Multi: one",
        "Accept: application/json",
        "User-Agent: mlflow-python-client/3.18.0",
        "Accept-Encoding: gzip",
        "X-Drop-Me: gone",
        "Keep-Alive: timeout=5",
        "TE: trailers",
        "Proxy-Authorization: Basic c2VjcmV0",
        "Connection: close, X-Drop-Me",
        "",
      ].join("\n"),
    );
    expect(r.status).toBe(200);
    const h = last().headers;
    expect(last().path).toBe("/ajax-api/2.0/mlflow/runs/search");
    expect(h).toMatchObject({
      // Host is end-to-end: the Python server sees the name the client used (as behind a
      // preserve-host reverse proxy), so its --allowed-hosts check applies to that name.
      host: "mlflow.example.com:8080",
      authorization: "Bearer secret-token",
      cookie: "session=xyz; other=1",
      "x-custom": "some value",
      "x-multi": "one",
      accept: "application/json",
      "user-agent": "mlflow-python-client/3.18.0",
      "accept-encoding": "gzip",
    });
    for (const hop of ["x-drop-me", "keep-alive", "te", "proxy-authorization"]) expect(h[hop]).toBeUndefined();
  });

  test("POST with a JSON body: body and content-type arrive byte for byte; status, headers and body come back", async () => {
    const body = JSON.stringify({ experiment_id: "0", run_name: "naïve ✓", tags: [{ key: "k", value: "v\n\"q\"" }] });
    const res = await fetch(`${s.url}/api/2.0/mlflow/webhooks`, { method: "POST", headers: { "content-type": "application/json; charset=utf-8" }, body });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("echo");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/; HttpOnly"]);
    const echoed = (await res.json()) as Seen;
    expect(echoed.method).toBe("POST");
    expect(echoed.path).toBe("/api/2.0/mlflow/webhooks");
    expect(echoed.body).toBe(body);
    expect(echoed.bodyLength).toBe(Buffer.byteLength(body));
    expect(echoed.headers["content-type"]).toBe("application/json; charset=utf-8");
    // Sized bodies stay sized: Python's WSGI bridge reads a chunked request body as empty.
    expect(echoed.headers["content-length"]).toBe(String(Buffer.byteLength(body)));
    expect(echoed.headers["transfer-encoding"]).toBeUndefined();
  });

  test("/graphql, / and other non-API paths are forwarded too", async () => {
    const gql = JSON.stringify({ query: "query { mlflowGetExperiment(input: {experimentId: \"0\"}) { experiment { name } } }" });
    const g = await fetch(`${s.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: gql });
    expect(g.status).toBe(200);
    expect(((await g.json()) as Seen).body).toBe(gql);
    expect(last()).toMatchObject({ method: "POST", path: "/graphql" });

    const root = await fetch(`${s.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await root.text()).toBe("<!doctype html><title>MLflow</title>");
    expect(last()).toMatchObject({ method: "GET", path: "/" });

    const st = await fetch(`${s.url}/static-files/static/js/main.js?v=1`);
    expect(((await st.json()) as Seen)).toMatchObject({ path: "/static-files/static/js/main.js", query: "?v=1" });
  });

  test("other methods arrive as sent: DELETE, PATCH, OPTIONS, HEAD", async () => {
    for (const method of ["DELETE", "PATCH", "OPTIONS"]) {
      const res = await fetch(`${s.url}/api/3.0/mlflow/some/resource?id=7`, { method, body: method === "PATCH" ? "patch-body" : undefined });
      expect(res.status).toBe(200);
      expect(last()).toMatchObject({ method, path: "/api/3.0/mlflow/some/resource", query: "?id=7", body: method === "PATCH" ? "patch-body" : "" });
    }
    const head = await fetch(`${s.url}/api/3.0/mlflow/scorers/list?experiment_id=1`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-upstream")).toBe("echo");
    expect(last()).toMatchObject({ method: "HEAD", path: "/api/3.0/mlflow/scorers/list" });
  });

  test("upstream statuses and headers pass through: 404, 500, 201, 204, redirects not followed", async () => {
    const nf = await fetch(`${s.url}/ctl/status/404?h=content-type:application/json&h=x-why:missing`);
    expect(nf.status).toBe(404);
    expect(nf.headers.get("x-why")).toBe("missing");
    expect(await nf.text()).toBe("status 404 body"); // the upstream's body, not mlflow-bun's ENDPOINT_NOT_FOUND

    const err = await fetch(`${s.url}/ctl/status/500?h=retry-after:7`);
    expect(err.status).toBe(500);
    expect(err.headers.get("retry-after")).toBe("7");

    const created = await fetch(`${s.url}/ctl/status/201?h=location:/api/2.0/mlflow/runs/get%3Frun_id%3D1`, { method: "POST", body: "x" });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/api/2.0/mlflow/runs/get?run_id=1");

    const empty = await fetch(`${s.url}/ctl/status/204`, { method: "DELETE" });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe("");

    const redirect = await fetch(`${s.url}/ctl/status/302?h=location:http://example.invalid/elsewhere`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("http://example.invalid/elsewhere");
  });

  test("hop-by-hop response headers are dropped, end-to-end ones kept", async () => {
    const r = await rawRequest(s.url, ["GET /ctl/hop HTTP/1.1", `Host: ${new URL(s.url).host}`, "Connection: close", ""].join("\n"));
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("hop");
    const names = r.headers.map(([k]) => k);
    expect(r.headers).toContainEqual(["x-end-to-end", "kept"]);
    for (const hop of ["x-resp-hop", "keep-alive", "proxy-authenticate", "trailer", "upgrade"]) expect(names).not.toContain(hop);
  });

  test("a PUT of 12 MB streamed from the client arrives whole (length and sha256)", async () => {
    const chunks = Array.from({ length: 48 }, (_, i) => chunkBytes(i, 256 * 1024));
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(chunks[i++]!);
        else controller.close();
      },
    });
    const res = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model.bin`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body,
      duplex: "half",
    });
    expect(res.status).toBe(200);
    const echoed = (await res.json()) as Seen;
    expect(echoed).toMatchObject({ method: "PUT", path: "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model.bin" });
    expect(echoed.bodyLength).toBe(12 * MB);
    expect(echoed.bodySha256).toBe(sha256(chunks));
    expect(echoed.headers["content-type"]).toBe("application/octet-stream");
    // The client's framing is kept: sent chunked, forwarded chunked.
    expect(echoed.headers["transfer-encoding"]).toBe("chunked");
    expect(echoed.headers["content-length"]).toBeUndefined();
  }, 60_000);

  test("a PUT with Content-Length (not chunked) of 5 MB arrives whole, still sized", async () => {
    const data = chunkBytes(99, 5 * MB);
    const res = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts/x.bin`, { method: "PUT", body: data });
    const echoed = (await res.json()) as Seen;
    expect(echoed.bodyLength).toBe(5 * MB);
    expect(echoed.bodySha256).toBe(sha256([data]));
    expect(echoed.headers["content-length"]).toBe(String(5 * MB));
    expect(echoed.headers["transfer-encoding"]).toBeUndefined();
  }, 60_000);

  test("request bodies are streamed: the upstream sees the first chunk before the client has sent the rest", async () => {
    const firstChunkAtUpstream = up.holdUpload();
    let sendRest!: () => void;
    const restAllowed = new Promise<void>((r) => (sendRest = r));
    const first = new TextEncoder().encode("first-part;");
    const rest = new TextEncoder().encode("rest-part");
    let step = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step === 0) controller.enqueue(first);
        else if (step === 1) {
          await restAllowed; // withheld until the upstream has the first chunk
          controller.enqueue(rest);
        } else controller.close();
        step++;
      },
    });
    const response = fetch(`${s.url}/ctl/upload-hold`, {
      method: "POST",
      body,
      duplex: "half",
    });
    try {
      await withTimeout(firstChunkAtUpstream, 10_000, "the upstream never saw the first chunk: the proxy buffers request bodies");
    } finally {
      sendRest();
      up.releaseUpload();
    }
    const echoed = (await (await response).json()) as Seen;
    expect(echoed.body).toBe("first-part;rest-part");
  }, 30_000);

  test("response bodies are streamed: the client gets the first chunk before the upstream has sent the rest", async () => {
    up.holdResponse();
    let reader!: { read(): Promise<{ done: boolean; value?: Uint8Array }> };
    try {
      const first = await withTimeout(
        (async () => {
          const res = await fetch(`${s.url}/ctl/hold`);
          expect(res.status).toBe(200);
          reader = res.body!.getReader();
          return (await reader.read()).value;
        })(),
        10_000,
        "the client never got the first chunk: the proxy buffers responses",
      );
      expect(new TextDecoder().decode(first)).toBe("first;");
    } finally {
      up.releaseResponse();
    }
    let tail = "";
    for (;;) {
      const { done, value: v } = await reader.read();
      if (done) break;
      tail += new TextDecoder().decode(v);
    }
    expect(tail).toBe("second");
  }, 30_000);

  test("a large streamed (chunked) response arrives whole: 32 MB, length and sha256", async () => {
    const chunks = 128;
    const size = 256 * 1024;
    const res = await fetch(`${s.url}/ctl/stream?chunks=${chunks}&size=${size}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-chunks")).toBe(String(chunks));
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const h = new Bun.CryptoHasher("sha256");
    let n = 0;
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(part);
      n += part.length;
    }
    expect(n).toBe(chunks * size);
    expect(h.digest("hex")).toBe(sha256(Array.from({ length: chunks }, (_, i) => chunkBytes(i, size))));
  }, 60_000);

  test("a gzip-encoded response passes through compressed, with its Content-Encoding", async () => {
    const raw = await fetch(`${s.url}/ctl/gzip`, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-encoding")).toBe("gzip");
    expect(raw.headers.get("vary")).toBe("Accept-Encoding");
    expect(Buffer.from(await raw.arrayBuffer()).equals(up.gzipped)).toBe(true);
    // And a client that decompresses gets the upstream's JSON.
    const decoded = await fetch(`${s.url}/ctl/gzip`, { headers: { "accept-encoding": "gzip" } });
    expect(await decoded.text()).toBe(up.gzipPayload);
  });

  test("native paths are served by mlflow-bun, never forwarded", async () => {
    const before = up.seen.length;
    const got = await fetch(`${s.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(got.status).toBe(200);
    expect(((await got.json()) as any).experiment).toMatchObject({ experiment_id: "0", name: "Default" });
    const ajax = await fetch(`${s.url}/ajax-api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(ajax.status).toBe(200);
    const created = await fetch(`${s.url}/api/2.0/mlflow/experiments/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "proxy-native" }) });
    expect(created.status).toBe(200);
    expect(((await created.json()) as any).experiment_id).toMatch(/^\d+$/);
    // A native route's own errors are mlflow-bun's too.
    const missing = await fetch(`${s.url}/api/2.0/mlflow/experiments/get?experiment_id=987654`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(await (await fetch(`${s.url}/health`)).text()).toBe("OK");
    expect(await (await fetch(`${s.url}/version`)).text()).toBe("3.18.0");
    expect(up.seen.length).toBe(before);
  });
});

describe("proxy with an unreachable upstream", () => {
  let s: TestServer;
  let deadUrl: string;
  beforeAll(async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    deadUrl = `http://127.0.0.1:${probe.port}`;
    probe.stop(true); // nothing listens there now
    s = await startTestServer("sqlite", { pythonUrl: deadUrl });
  }, 30_000);
  afterAll(() => s?.stop(), 30_000);

  test("a forwarded request answers 503 TEMPORARILY_UNAVAILABLE as JSON", async () => {
    for (const [method, path] of [["GET", "/api/3.0/mlflow/scorers/list?experiment_id=1"], ["POST", "/api/2.0/mlflow/webhooks"], ["GET", "/"]] as const) {
      const res = await fetch(`${s.url}${path}`, { method, body: method === "POST" ? "{}" : undefined });
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toContain("application/json");
      const body = (await res.json()) as any;
      expect(body.error_code).toBe("TEMPORARILY_UNAVAILABLE");
      expect(typeof body.message).toBe("string");
      expect(body.message).toContain(deadUrl);
    }
  });

  test("native paths still work", async () => {
    const res = await fetch(`${s.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(res.status).toBe(200);
  });
});

describe("no --python-url", () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer("sqlite")), 30_000);
  afterAll(() => s?.stop(), 30_000);

  test("an API path mlflow-bun does not serve answers 404 ENDPOINT_NOT_FOUND as JSON", async () => {
    for (const [method, path] of [["GET", "/api/3.0/mlflow/scorers/list?experiment_id=1"], ["POST", "/api/2.0/mlflow/webhooks"], ["POST", "/ajax-api/2.0/mlflow/webhooks"], ["GET", "/api/2.0/mlflow/no-such-endpoint"]] as const) {
      const res = await fetch(`${s.url}${path}`, { method, body: method === "POST" ? "{}" : undefined });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/json");
      const body = (await res.json()) as any;
      expect(body.error_code).toBe("ENDPOINT_NOT_FOUND");
      expect(typeof body.message).toBe("string");
    }
  });

  test("native paths work", async () => {
    const res = await fetch(`${s.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(res.status).toBe(200);
  });
});
