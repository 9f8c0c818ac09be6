// The HTTP app: generated routes for the native RPCs, /health, /version, the docs, and a
// fallback that proxies everything else to Python (or answers MLflow's 404 without one).
import { Elysia } from "elysia";
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type { NativeHandlers } from "../generated/contract";
import { mountNative, type RpcRoute } from "../generated/routes";
import { AnsweredByPython } from "../services/artifacts";
import { artifactsOnlyDisabled, flaskRule } from "../services/artifact-responses";
import type { RequestContext } from "../services/context";
import type { ExtraRoute } from "../services/native";
import { docsRoutes } from "./docs";
import { createProxy } from "./proxy";
import { markedAsPython } from "./security";
import { parseRequest } from "./request";
import { errorResponse, json, toMlflowError } from "./response";

export const MLFLOW_VERSION = "3.18.0";

export interface AppOptions {
  config: Config;
  handlers: NativeHandlers<RequestContext>;
  /** Native routes that are not proto RPCs (plain Flask routes in MLflow). */
  extraRoutes?: readonly ExtraRoute[];
}

export function createApp({ config, handlers, extraRoutes = [] }: AppOptions) {
  const prefix = config.staticPrefix.replace(/\/+$/, "");
  const proxy = config.pythonUrl ? markedAsPython(createProxy(config.pythonUrl)) : undefined;
  // strictPath: `/create/` is not `/create` (Flask answers 404 for it).
  const app = new Elysia({ strictPath: true });

  const native: RpcRoute[] = mountNative<RequestContext>(handlers, (route, handler) => {
    for (const path of route.paths) {
      app.route(
        route.method,
        prefix + path,
        async ({ request, params }: { request: Request; params: Record<string, string> }) => {
          if (config.artifactsOnly && route.service !== "MlflowArtifactsService") return artifactsOnlyDisabled(flaskRule(prefix + path, route.wildcard));
          try {
            const pathParams = { ...params };
            if (route.wildcard && "*" in pathParams) {
              pathParams[route.wildcard] = pathParams["*"]!;
              delete pathParams["*"];
            }
            const { message, ctx } = await parseRequest(request, route.request, new URL(request.url), pathParams);
            const result = await handler(message, ctx);
            if (result instanceof AnsweredByPython) return answerByPython(request, result.reason);
            return result instanceof Response ? result : json(result ?? {});
          } catch (e) {
            const error = toMlflowError(e);
            if (error.status >= 500) console.error(`Error in ${route.rpc}: ${error.message}`);
            return errorResponse(error);
          }
        },
        { parse: "none" } as any, // bodies are read by parseRequest, MLflow's way
      );
    }
  });

  for (const route of extraRoutes) {
    app.route(
      route.method,
      prefix + route.path,
      async ({ request }: { request: Request }) => {
        if (config.artifactsOnly && route.tracking) return artifactsOnlyDisabled(prefix + route.path);
        try {
          const result = await route.handler(request);
          return result instanceof AnsweredByPython ? answerByPython(request, result.reason) : result;
        } catch (e) {
          const error = toMlflowError(e);
          if (error.status >= 500) console.error(`Error in ${route.path}: ${error.message}`);
          return errorResponse(error);
        }
      },
      { parse: "none" } as any,
    );
  }

  /** A native handler's AnsweredByPython: the request goes to Python (GET routes: no body was read). */
  const answerByPython = (request: Request, reason: string): Response | Promise<Response> => {
    if (proxy) return proxy(request);
    const path = new URL(request.url).pathname;
    const message = `${path} needs the MLflow Python server for ${reason}; start mlflow-bun with --python-url to serve it.`;
    return errorResponse(new MlflowError(message, "NOT_IMPLEMENTED"));
  };

  app.get(`${prefix}/health`, () => new Response("OK", { headers: { "content-type": "text/plain; charset=utf-8" } }));
  // A Flask view returning a str: text/html, as MLflow answers it.
  app.get(`${prefix}/version`, () => new Response(MLFLOW_VERSION, { headers: { "content-type": "text/html; charset=utf-8" } }));
  for (const [path, handler] of Object.entries(docsRoutes(prefix))) app.get(path, handler);

  const plain = [{ method: "GET" as const, paths: ["/health", "/version"] }]; // for Flask's automatic OPTIONS answer
  const methodsOf = nativeMethods([...native, ...extraRoutes.map((r) => ({ method: r.method, paths: [r.path] })), ...plain], prefix);
  app.all("/*", ({ request }: { request: Request }) => {
    if (proxy) return proxy(request);
    const path = new URL(request.url).pathname;
    const allowed = methodsOf(path);
    if (allowed.length) return request.method === "OPTIONS" ? flaskOptions(allowed) : methodNotAllowed(allowed);
    return errorResponse(new MlflowError(`No API endpoint for ${request.method} ${path}.`, "ENDPOINT_NOT_FOUND"));
  }, { parse: "none" } as any);

  // Elysia's own errors (route misses, malformed requests) in MLflow's format, never its own.
  app.onError(({ code, error }) => {
    if (code === "NOT_FOUND") return errorResponse(new MlflowError("Endpoint not found.", "ENDPOINT_NOT_FOUND"));
    if (code === "PARSE" || code === "VALIDATION" || code === "INVALID_COOKIE_SIGNATURE") {
      return errorResponse(MlflowError.invalid(`Invalid request: ${(error as Error)?.message ?? code}`));
    }
    return errorResponse(toMlflowError(error));
  });

  return { app, native };
}

/** The methods native routes serve at a path, for a 405 when another method asks. */
function nativeMethods(routes: Pick<RpcRoute, "method" | "paths">[], prefix: string): (path: string) => string[] {
  const patterns = routes.flatMap((r) =>
    r.paths.map((p) => ({
      method: r.method,
      regex: new RegExp(`^${(prefix + p).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:\w+/g, "[^/]+").replace("*", ".+")}$`),
    })),
  );
  return (path) => [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))];
}

/** Flask's automatic OPTIONS answer: 200, no body, the route's methods in Allow. */
function flaskOptions(methods: string[]): Response {
  const allow = new Set([...methods, "OPTIONS"]);
  if (allow.has("GET")) allow.add("HEAD");
  return new Response(null, { status: 200, headers: { "content-type": "text/html; charset=utf-8", allow: [...allow].sort().join(", ") } });
}

/** Flask's (Werkzeug's) 405 page, Allow header included, as `mlflow server` answers it. */
function methodNotAllowed(methods: string[]): Response {
  const allow = new Set([...methods, "OPTIONS"]);
  if (allow.has("GET")) allow.add("HEAD");
  const body =
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n" +
    "<p>The method is not allowed for the requested URL.</p>\n";
  return new Response(body, { status: 405, headers: { "content-type": "text/html; charset=utf-8", allow: [...allow].sort().join(", ") } });
}
