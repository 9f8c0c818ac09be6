// MLflow 3.18's security middleware, as `mlflow server` (uvicorn) layers it around every answer:
// host validation, Starlette's CORSMiddleware, MLflow's cross-origin blocking and security
// headers (mlflow/server/fastapi_security.py), and inside them, for Flask routes, Flask's own
// copy (mlflow/server/security.py with Flask-CORS). The outcome, headers included, is what the
// two stacks produce together; the rules shared by both are in security-rules.ts.
import type { Config } from "../config";
import { unquote } from "../python/urllib";
import {
  CORS_BLOCKED_MSG,
  INVALID_HOST_MSG,
  isAllowedHost,
  originPolicy,
  shouldBlockCors,
  type OriginPolicy,
} from "./security-rules";

const TRACE_RENDERER_ASSET_PATH = "/static-files/lib/notebook-trace-renderer";
const PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network";
const CORS_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];
/** Starlette's ALL_METHODS: what allow_methods=["*"] becomes in wildcard mode. */
const ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY"];

export interface Security {
  /**
   * Runs before routing. Answers what MLflow's outer middleware answers itself (a rejected
   * Host, a CORS preflight, a blocked cross-origin write); undefined lets the request through.
   */
  screen(request: Request): Response | undefined;
  /** Adds the headers MLflow's middleware adds to an answer of its own (not to Python's). */
  decorate(request: Request, response: Response): Response;
}

/** undefined when the middleware is off (--disable-security-middleware). */
export function createSecurity(config: Config): Security | undefined {
  if (config.disableSecurityMiddleware) return undefined;
  const prefix = config.staticPrefix.replace(/\/+$/, "");
  const split = (v: string | undefined) => (v ? v.split(",").map((s) => s.trim()) : undefined);
  const allowedHosts = split(config.allowedHosts) ?? defaultAllowedHosts();
  const checkHost = !allowedHosts.includes("*");
  const policy = originPolicy(split(config.corsAllowedOrigins) ?? []);
  const xfo = config.xFrameOptions && config.xFrameOptions.toUpperCase() !== "NONE" ? config.xFrameOptions.toUpperCase() : undefined;

  const isApi = (path: string) =>
    (path.startsWith(`${prefix}/api/`) ||
      path.startsWith(`${prefix}/ajax-api/`) ||
      // artifact_router serves these unprefixed even under --static-prefix
      path.startsWith("/api/2.0/mlflow-artifacts/artifacts") ||
      path.startsWith("/ajax-api/2.0/mlflow-artifacts/artifacts")) &&
    path !== "/test" &&
    path !== "/api/test";
  const isHealth = (path: string) => path === `${prefix}/health` || path === `${prefix}/version`;
  /** Routes FastAPI serves itself, outside the Flask app (and so outside Flask-CORS). */
  const servedByFastapi = (method: string, path: string) =>
    (method === "GET" && path === `${prefix}/health`) ||
    ((method === "GET" || method === "PUT") && /^\/(?:ajax-)?api\/2\.0\/mlflow-artifacts\/artifacts\//.test(path));

  return {
    screen(request) {
      const path = pathOf(request);
      const origin = request.headers.get("origin");
      if (checkHost && !isHealth(path) && !isAllowedHost(allowedHosts, request.headers.get("host") ?? "")) {
        return new Response(INVALID_HOST_MSG, { status: 403, headers: { "content-type": "text/plain" } });
      }
      if (origin !== null && request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
        return preflight(request, origin, policy);
      }
      if (!policy.wildcard && isApi(path) && shouldBlockCors(origin, request.method, policy.allowed)) {
        const blocked = new Response(CORS_BLOCKED_MSG, { status: 403, headers: { "content-type": "text/plain" } });
        return starletteSimple(blocked, origin, policy);
      }
      return undefined;
    },

    decorate(request, response) {
      const path = pathOf(request);
      const method = request.method;
      const headers = new Headers(response.headers);
      let status = response.status;
      if (!servedByFastapi(method, path)) {
        // Flask's after_request: its security headers, then Flask-CORS.
        for (const [name, value] of flaskCorsHeaders(request, policy)) headers.append(name, value);
      }
      // SecurityHeadersMiddleware (and Flask's add_security_headers, which sets the same).
      headers.set("x-content-type-options", "nosniff");
      if (xfo && !path.startsWith(TRACE_RENDERER_ASSET_PATH)) headers.set("x-frame-options", xfo);
      const emptied = method === "OPTIONS" && status === 200 && isApi(path);
      if (emptied) status = 204;
      const body = emptied ? null : response.body;
      if (emptied) headers.delete("content-length");
      return starletteSimple(new Response(body, { status, statusText: emptied ? "" : response.statusText, headers }), request.headers.get("origin"), policy);
    },
  };
}

/**
 * The request's path as ASGI's scope["path"] has it (percent-decoded). Not `new URL()`: Bun builds
 * request.url from the Host header, which need not make a valid URL (an unbracketed IPv6 host).
 */
function pathOf(request: Request): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(request.url);
  return unquote(m?.[1] || "/");
}

/** get_default_allowed_hosts: localhost spellings with and without a port, private ranges. */
function defaultAllowedHosts(): string[] {
  const localhost = ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"];
  const withPort = localhost.map((h) => (h.startsWith("[") ? `${h.replace("[", "[[]")}:*` : `${h}:*`));
  const private172 = Array.from({ length: 16 }, (_, i) => `172.${16 + i}.*`);
  return [...localhost, ...withPort, "192.168.*", "10.*", ...private172, "fc00:*", "fd00:*"];
}

/** Starlette CORSMiddleware.preflight_response, with MLflow's options. */
function preflight(request: Request, origin: string, policy: OriginPolicy): Response {
  const headers = new Headers({ vary: PREFLIGHT_VARY });
  if (policy.wildcard) headers.set("access-control-allow-origin", "*");
  headers.set("access-control-allow-methods", (policy.wildcard ? ALL_METHODS : CORS_METHODS).join(", "));
  headers.set("access-control-max-age", "600");
  if (!policy.wildcard) headers.set("access-control-allow-credentials", "true");
  const failures: string[] = [];
  if (policy.starletteAllows(origin)) {
    if (!policy.wildcard) headers.set("access-control-allow-origin", origin);
  } else failures.push("origin");
  if (!(policy.wildcard ? ALL_METHODS : CORS_METHODS).includes(request.headers.get("access-control-request-method")!)) failures.push("method");
  const requested = request.headers.get("access-control-request-headers");
  if (requested !== null) headers.set("access-control-allow-headers", requested); // allow_headers=["*"] mirrors
  if (request.headers.has("access-control-request-private-network")) failures.push("private-network");
  headers.set("content-type", "text/plain; charset=utf-8");
  if (failures.length) return new Response(`Disallowed CORS ${failures.join(", ")}`, { status: 400, headers });
  return new Response("OK", { status: 200, headers });
}

/** CORSMiddleware.send for a simple (non-preflight) request: the headers it adds on the way out. */
function starletteSimple(response: Response, origin: string | null, policy: OriginPolicy): Response {
  const headers = response.headers;
  if (origin !== null) {
    if (policy.wildcard) headers.set("access-control-allow-origin", "*");
    else headers.set("access-control-allow-credentials", "true");
    headers.set("access-control-expose-headers", "*");
  }
  if (origin !== null && !policy.wildcard && policy.starletteAllows(origin)) headers.set("access-control-allow-origin", origin);
  const vary = headers.get("vary");
  headers.set("vary", vary ? `${vary}, Origin` : "Origin");
  return response;
}

/**
 * Flask-CORS's after_request with MLflow's options (CORS(app, resources={r"/*": ...})): the
 * headers it adds to a Flask answer, before the outer middleware sees it.
 */
function flaskCorsHeaders(request: Request, policy: OriginPolicy): [string, string][] {
  const origin = request.headers.get("origin");
  let allowOrigin: string | undefined;
  if (origin) {
    if (!policy.flaskAllows(origin)) return [];
    allowOrigin = origin;
  } else {
    // always_send: without an Origin the wildcard (no credentials) or the first literal origin
    allowOrigin = policy.wildcard ? "*" : policy.flaskLiterals[0];
    if (allowOrigin === undefined) return [];
  }
  const out: [string, string][] = [];
  if (allowOrigin) out.push(["access-control-allow-origin", allowOrigin]);
  if (!policy.wildcard) out.push(["access-control-allow-credentials", "true"]);
  if (request.headers.get("access-control-request-private-network") === "true") out.push(["access-control-allow-private-network", "false"]);
  if (request.method === "OPTIONS") {
    // Flask-CORS joins its methods sorted, and tests the requested one as a substring.
    const methods = (policy.wildcard ? ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"] : CORS_METHODS).slice().sort().join(", ");
    const requested = (request.headers.get("access-control-request-method") ?? "").toUpperCase();
    if (requested && methods.includes(requested)) {
      const names = (request.headers.get("access-control-request-headers") ?? "").split(",").map((h) => h.trim());
      const allowHeaders = request.headers.get("access-control-request-headers") ? names.sort().join(", ") : "";
      if (allowHeaders) out.push(["access-control-allow-headers", allowHeaders]);
      out.push(["access-control-allow-methods", methods]);
    }
  }
  if (allowOrigin !== "*") out.push(["vary", "Origin"]);
  return out;
}

const fromPython = new WeakSet<Response>();

/**
 * Marks what the proxy answers: the Python server's own middleware already added its headers
 * (adding them again would repeat Vary and CORS values), so decorate() leaves those alone.
 */
export function markedAsPython(proxy: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
  return async (request) => {
    const response = await proxy(request);
    fromPython.add(response);
    return response;
  };
}

export const answeredByPython = (response: Response): boolean => fromPython.has(response);
