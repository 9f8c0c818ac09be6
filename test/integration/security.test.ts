// MLflow's security middleware in mlflow-bun, against a started server: the Host check, CORS
// (blocking, preflights, the headers of MLflow's two stacked CORS layers), X-Frame-Options and
// nosniff, --disable-security-middleware; and how it meets the proxy: Python's answers pass
// through untouched (its own middleware set their headers), rejections never reach Python.
// test/parity/test_security.py compares the same answers with the real `mlflow server`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Config } from "../../src/config";
import { startTestServer, type TestServer } from "../support/server";

const INVALID_HOST = "Invalid Host header - possible DNS rebinding attack detected";
const PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network";
const SEARCH = "/api/2.0/mlflow/experiments/search";
const CREATE = "/api/2.0/mlflow/experiments/create";

/** fetch with exactly these headers (Bun sends a given Host header as is). */
async function send(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  const h = (name: string) => res.headers.get(name);
  return { status: res.status, text, h };
}

const SECURITY = ["x-content-type-options", "x-frame-options", "access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers", "vary"];
const securityHeaders = (h: (n: string) => string | null) => Object.fromEntries(SECURITY.map((n) => [n, h(n)]));

async function withServer(overrides: Partial<Config>, body: (s: TestServer) => Promise<void>) {
  const s = await startTestServer("sqlite", overrides);
  try {
    await body(s);
  } finally {
    await s.stop();
  }
}

describe("default settings (localhost and private addresses; localhost origins)", () => {
  let s: TestServer;
  beforeAll(async () => void (s = await startTestServer("sqlite")));
  afterAll(() => s.stop());

  test("a foreign Host header: 403 text/plain, and nothing else", async () => {
    for (const host of ["evil.com", "10evil.com", "localhost.evil.com", "[::2]:5000", "127.0.0.2"]) {
      const r = await send(s.url, "GET", SEARCH, { host });
      expect(r.status).toBe(403);
      expect(r.text).toBe(INVALID_HOST);
      expect(r.h("content-type")).toBe("text/plain");
      expect(r.h("x-content-type-options")).toBeNull();
      expect(r.h("vary")).toBeNull();
    }
  });

  test("localhost spellings and private addresses pass", async () => {
    for (const host of ["localhost", "localhost:1234", "127.0.0.1:5000", "[::1]:8080", "0.0.0.0", "10.1.2.3:5000", "192.168.0.9", "172.16.0.1", "172.31.255.255:1"]) {
      expect((await send(s.url, "GET", `${SEARCH}?max_results=1`, { host })).status).toBe(200);
    }
    // bare IPv6 addresses in fc00::/7 match the default fc00:* / fd00:* patterns (and make no valid URL)
    expect((await send(s.url, "GET", `${SEARCH}?max_results=1`, { host: "fd00::1" })).status).toBe(200);
    expect((await send(s.url, "GET", `${SEARCH}?max_results=1`, { host: "fd00::1%evil.com" })).status).toBe(403);
  });

  test("/health and /version answer any Host", async () => {
    const health = await send(s.url, "GET", "/health", { host: "evil.com" });
    expect([health.status, health.text]).toEqual([200, "OK"]);
    expect((await send(s.url, "GET", "/version", { host: "evil.com" })).text).toBe("3.18.0");
    // percent-encoding is decoded first, as ASGI's scope["path"] is
    expect((await send(s.url, "GET", "/%68ealth", { host: "evil.com" })).status).not.toBe(403);
  });

  test("every answer carries nosniff, X-Frame-Options SAMEORIGIN and Vary: Origin", async () => {
    for (const path of [`${SEARCH}?max_results=1`, "/health", "/version", "/no/such/path", "/swagger/json"]) {
      const r = await send(s.url, "GET", path);
      expect(securityHeaders(r.h)).toEqual({
        "x-content-type-options": "nosniff",
        "x-frame-options": "SAMEORIGIN",
        "access-control-allow-origin": null,
        "access-control-allow-credentials": null,
        "access-control-expose-headers": null,
        vary: "Origin",
      });
    }
  });

  test("a localhost origin: Flask-CORS's and Starlette's headers, Vary twice on Flask routes", async () => {
    const origin = "http://localhost:3000";
    const api = await send(s.url, "GET", `${SEARCH}?max_results=1`, { origin });
    expect(securityHeaders(api.h)).toEqual({
      "x-content-type-options": "nosniff",
      "x-frame-options": "SAMEORIGIN",
      "access-control-allow-origin": origin,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "*",
      vary: "Origin, Origin",
    });
    // /health is a FastAPI route in MLflow: only Starlette's layer
    expect((await send(s.url, "GET", "/health", { origin })).h("vary")).toBe("Origin");
  });

  test("a foreign origin may read, but not write to the API", async () => {
    const origin = "http://evil.com";
    const read = await send(s.url, "GET", `${SEARCH}?max_results=1`, { origin });
    expect(read.status).toBe(200);
    expect(read.h("access-control-allow-origin")).toBeNull();
    expect(read.h("access-control-allow-credentials")).toBe("true");
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      for (const path of [CREATE, "/ajax-api/2.0/mlflow/experiments/create", "/api/2.0/mlflow/not-an-endpoint"]) {
        const r = await send(s.url, method, path, { origin }, { name: "from-evil" });
        expect(r.status).toBe(403);
        expect(r.text).toBe("Cross-origin request blocked");
        expect(r.h("content-type")).toBe("text/plain");
        expect(securityHeaders(r.h)).toMatchObject({ "x-content-type-options": null, "access-control-allow-credentials": "true", "access-control-expose-headers": "*", vary: "Origin" });
      }
    }
    expect((await s.call("GET", "/api/2.0/mlflow/experiments/get-by-name", { experiment_name: "from-evil" })).status).toBe(404);
    // "null" (a sandboxed page) is foreign too; paths outside the API are not blocked
    expect((await send(s.url, "POST", CREATE, { origin: "null" }, { name: "x" })).status).toBe(403);
    expect((await send(s.url, "POST", "/health", { origin })).status).toBe(405);
  });

  test("any localhost origin may write, whatever the scheme", async () => {
    for (const origin of ["http://localhost:3000", "https://localhost", "http://127.0.0.1:8080", "http://[::1]:1"]) {
      const r = await send(s.url, "POST", CREATE, { origin }, { name: `local-${encodeURIComponent(origin)}` });
      expect(r.status).toBe(200);
    }
  });

  test("CORS preflights: Starlette's answer, before any route", async () => {
    const ok = await send(s.url, "OPTIONS", CREATE, { origin: "http://localhost:3000", "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-custom" });
    expect([ok.status, ok.text, ok.h("content-type")]).toEqual([200, "OK", "text/plain; charset=utf-8"]);
    expect(Object.fromEntries(["vary", "access-control-allow-methods", "access-control-max-age", "access-control-allow-credentials", "access-control-allow-origin", "access-control-allow-headers", "x-content-type-options"].map((n) => [n, ok.h(n)]))).toEqual({
      vary: PREFLIGHT_VARY,
      "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS, PATCH",
      "access-control-max-age": "600",
      "access-control-allow-credentials": "true",
      "access-control-allow-origin": "http://localhost:3000",
      "access-control-allow-headers": "content-type, x-custom",
      "x-content-type-options": null,
    });
    const foreign = await send(s.url, "OPTIONS", CREATE, { origin: "http://evil.com", "access-control-request-method": "TRACE" });
    expect([foreign.status, foreign.text]).toEqual([400, "Disallowed CORS origin, method"]);
    expect(foreign.h("access-control-allow-origin")).toBeNull();
    const pna = await send(s.url, "OPTIONS", "/anything", { origin: "http://localhost", "access-control-request-method": "GET", "access-control-request-private-network": "true" });
    expect([pna.status, pna.text]).toEqual([400, "Disallowed CORS private-network"]);
    // the Host check comes first
    expect((await send(s.url, "OPTIONS", CREATE, { host: "evil.com", origin: "http://localhost", "access-control-request-method": "POST" })).status).toBe(403);
  });

  test("an OPTIONS that is not a preflight: Flask's automatic answer, 204 on API paths", async () => {
    const r = await send(s.url, "OPTIONS", SEARCH);
    expect([r.status, r.text]).toEqual([204, ""]);
    expect(r.h("allow")).toBe("GET, HEAD, OPTIONS, POST");
    expect(r.h("x-content-type-options")).toBe("nosniff");
    const version = await send(s.url, "OPTIONS", "/version");
    expect([version.status, version.h("allow")]).toEqual([200, "GET, HEAD, OPTIONS"]);
  });
});

describe("configured", () => {
  test("--allowed-hosts replaces the defaults; --static-prefix moves the API and the exemptions", async () => {
    await withServer({ allowedHosts: "mlflow.example.com, 10.*,app-?.internal", staticPrefix: "/mlflow", xFrameOptions: "deny" }, async (s) => {
      // An entry is a pattern only when it has a `*`: `app-?.internal` is matched literally.
      for (const host of ["mlflow.example.com", "10.0.0.1:5000", "app-?.internal"]) {
        expect((await send(s.url, "GET", "/mlflow/api/2.0/mlflow/experiments/search?max_results=1", { host })).status).toBe(200);
      }
      for (const host of ["localhost", "127.0.0.1", "mlflow.example.com:5000", "10evil.com", "app-1.internal"]) {
        expect((await send(s.url, "GET", "/mlflow/api/2.0/mlflow/experiments/search?max_results=1", { host })).status).toBe(403);
      }
      expect((await send(s.url, "GET", "/mlflow/health", { host: "evil.com" })).status).toBe(200);
      expect((await send(s.url, "GET", "/health", { host: "evil.com" })).status).toBe(403);
      const r = await send(s.url, "GET", "/mlflow/health", { host: "mlflow.example.com" });
      expect(r.h("x-frame-options")).toBe("DENY");
    });
  });

  test("--cors-allowed-origins: exact and fnmatch entries may write; the prefix decides what the API is", async () => {
    await withServer({ corsAllowedOrigins: "https://app.example.com,https://*.trusted.dev", staticPrefix: "/p" }, async (s) => {
      const create = "/p/api/2.0/mlflow/experiments/create";
      const exact = await send(s.url, "POST", create, { origin: "https://app.example.com" }, { name: "exact" });
      expect(exact.status).toBe(200);
      expect(exact.h("access-control-allow-origin")).toBe("https://app.example.com");
      expect((await send(s.url, "POST", create, { origin: "https://ui.trusted.dev" }, { name: "glob" })).status).toBe(200);
      expect((await send(s.url, "POST", create, { origin: "https://evil.dev" }, { name: "no" })).status).toBe(403);
      // without the prefix it is not an API path: not blocked, just not found
      expect((await send(s.url, "POST", CREATE, { origin: "https://evil.dev" }, { name: "no" })).status).toBe(404);
      // Flask-CORS sends its first literal origin even without an Origin header
      expect((await send(s.url, "GET", "/p/version")).h("access-control-allow-origin")).toBe("https://app.example.com");
    });
  });

  test("`*` everywhere: no Host check, no blocking, credential-less CORS; X-Frame-Options NONE drops the header", async () => {
    await withServer({ allowedHosts: "*", corsAllowedOrigins: "*", xFrameOptions: "NONE" }, async (s) => {
      const r = await send(s.url, "POST", CREATE, { host: "evil.com", origin: "http://evil.com" }, { name: "anyone" });
      expect(r.status).toBe(200);
      expect(securityHeaders(r.h)).toEqual({
        "x-content-type-options": "nosniff",
        "x-frame-options": null,
        "access-control-allow-origin": "*",
        "access-control-allow-credentials": null,
        "access-control-expose-headers": "*",
        vary: "Origin, Origin",
      });
      const pre = await send(s.url, "OPTIONS", CREATE, { origin: "http://evil.com", "access-control-request-method": "QUERY" });
      expect([pre.status, pre.h("access-control-allow-origin"), pre.h("access-control-allow-methods")]).toEqual([200, "*", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY"]);
    });
  });

  test("--disable-security-middleware: nothing checked, nothing added", async () => {
    await withServer({ disableSecurityMiddleware: true }, async (s) => {
      const r = await send(s.url, "POST", CREATE, { host: "evil.com", origin: "http://evil.com" }, { name: "unguarded" });
      expect(r.status).toBe(200);
      expect(Object.values(securityHeaders(r.h)).every((v) => v === null)).toBe(true);
      expect((await send(s.url, "OPTIONS", SEARCH)).status).toBe(200);
    });
  });
});

// ---- with the Python server: an upstream that records what reached it ---------------------------

interface Upstream {
  url: string;
  seen: { method: string; path: string; host: string | null }[];
  stop(): void;
}

/** Stands in for `mlflow server`: answers with the headers its own middleware would have set. */
function upstream(): Upstream {
  const seen: Upstream["seen"] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      seen.push({ method: request.method, path: url.pathname, host: request.headers.get("host") });
      return new Response(JSON.stringify({ from: "python" }), {
        headers: { "content-type": "application/json", "x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN", vary: "Origin", "access-control-allow-credentials": "true" },
      });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, seen, stop: () => server.stop(true) };
}

describe("with --python-url", () => {
  let up: Upstream;
  beforeAll(() => void (up = upstream()));
  afterAll(() => up.stop());

  test("Python's answers pass through as they are: no header added twice", async () => {
    await withServer({ pythonUrl: up.url }, async (s) => {
      const r = await send(s.url, "GET", "/api/2.0/mlflow/traces/x", { origin: "http://localhost:3000" });
      expect(JSON.parse(r.text)).toEqual({ from: "python" });
      expect(securityHeaders(r.h)).toEqual({
        "x-content-type-options": "nosniff",
        "x-frame-options": "SAMEORIGIN",
        "access-control-allow-origin": null,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": null,
        vary: "Origin",
      });
      // the client's Host reaches Python, so its own Host check sees what mlflow-bun saw
      await send(s.url, "GET", "/api/2.0/mlflow/traces/y", { host: "localhost:5000" });
      expect(up.seen.at(-1)).toEqual({ method: "GET", path: "/api/2.0/mlflow/traces/y", host: "localhost:5000" });
    });
  });

  test("rejections and preflights are answered before the proxy: nothing reaches Python", async () => {
    await withServer({ pythonUrl: up.url }, async (s) => {
      const before = up.seen.length;
      expect((await send(s.url, "GET", "/api/2.0/mlflow/traces/x", { host: "evil.com" })).text).toBe(INVALID_HOST);
      expect((await send(s.url, "POST", "/api/2.0/mlflow/traces", { origin: "http://evil.com" }, {})).text).toBe("Cross-origin request blocked");
      expect((await send(s.url, "OPTIONS", "/api/2.0/mlflow/traces", { origin: "http://localhost", "access-control-request-method": "POST" })).text).toBe("OK");
      expect(up.seen.length).toBe(before);
    });
  });

  test("--app-name: every request, /health included, is Python's; Python's middleware judges the Host", async () => {
    await withServer({ pythonUrl: up.url, appName: "basic-auth" }, async (s) => {
      for (const path of ["/health", SEARCH, "/version"]) {
        const r = await send(s.url, "GET", path, { host: "evil.com" });
        expect(JSON.parse(r.text)).toEqual({ from: "python" });
        expect(up.seen.at(-1)).toEqual({ method: "GET", path, host: "evil.com" });
      }
    });
  });

  test("--enable-workspaces: likewise", async () => {
    await withServer({ pythonUrl: up.url, enableWorkspaces: true }, async (s) => {
      const r = await send(s.url, "POST", CREATE, {}, { name: "w" });
      expect(JSON.parse(r.text)).toEqual({ from: "python" });
      expect(up.seen.at(-1)?.path).toBe(CREATE);
    });
  });

  test("--registry-store-uri elsewhere: the registry API goes to Python, tracking stays native", async () => {
    await withServer({ pythonUrl: up.url, registryStoreUri: "postgresql://registry-host/registry" }, async (s) => {
      const reg = await send(s.url, "GET", "/api/2.0/mlflow/registered-models/search");
      expect(JSON.parse(reg.text)).toEqual({ from: "python" });
      expect(up.seen.at(-1)?.path).toBe("/api/2.0/mlflow/registered-models/search");
      const exp = await send(s.url, "GET", `${SEARCH}?max_results=1`);
      expect(JSON.parse(exp.text).experiments[0].name).toBe("Default");
    });
  });
});
