// Everything mlflow-bun does not serve natively goes to the Python server, unchanged:
// method, path, query, headers (minus hop-by-hop), and bodies streamed both ways.
import { MlflowError } from "../errors";
import { errorResponse } from "./response";

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];

function stripHopByHop(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of (headers.get("connection") ?? "").split(",")) if (name.trim()) out.delete(name.trim());
  for (const name of HOP_BY_HOP) out.delete(name);
  return out;
}

export function createProxy(pythonUrl: string): (request: Request) => Promise<Response> {
  const base = new URL(pythonUrl);
  return async (request) => {
    const url = new URL(request.url);
    const target = new URL(url.pathname + url.search, base);
    const headers = stripHopByHop(request.headers);
    // Content-Length stays: the body streams through with the client's framing, because
    // Python's WSGI bridge reads a chunked request body as empty.
    let upstream: Response;
    try {
      upstream = await fetch(target, {
        method: request.method,
        headers,
        body: request.method === "GET" || request.method === "HEAD" ? undefined : request.body,
        redirect: "manual",
        decompress: false, // pass compressed bodies through with their Content-Encoding
        duplex: "half", // stream the request body through
      });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return errorResponse(
        new MlflowError(`The MLflow Python server at ${base.origin} did not answer (${reason}); ${url.pathname} is served by it.`, "TEMPORARILY_UNAVAILABLE"),
      );
    }
    const responseHeaders = stripHopByHop(upstream.headers);
    return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
  };
}
