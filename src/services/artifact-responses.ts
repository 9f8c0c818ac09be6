// How MLflow's artifact routes answer: file downloads (headers of send_file / FileResponse), the
// plain-text 503s of its route decorators, and the few answers that come from Flask, FastAPI
// or Starlette themselves rather than from MLflow's error handler.
import { MlflowError } from "../errors";
import type { ArtifactFile } from "../store/artifacts";

/** mime_type_utils._guess_mime_type: text files as text/plain, else mimetypes' guess. */
export function guessMimeType(fileName: string): string {
  const name = fileName.split("/").pop() ?? "";
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot + 1) : name; // MLmodel, MLproject: the name itself
  if (TEXT_EXTENSIONS.has(ext)) return "text/plain";
  const known = PYTHON_TYPES[ext.toLowerCase()];
  if (known) return known;
  if (dot <= 0) return "application/octet-stream";
  const type = Bun.file(name).type.split(";")[0]!;
  return type || "application/octet-stream";
}

const TEXT_EXTENSIONS = new Set(
  "txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv tsv md rst ipynb MLmodel MLproject".split(" "),
);

/** Python's mimetypes answers where they differ from Bun's table, for common artifact types. */
const PYTHON_TYPES: Record<string, string> = {
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", svg: "image/svg+xml", webp: "image/webp",
  bmp: "image/bmp", tiff: "image/tiff", ico: "image/vnd.microsoft.icon", html: "text/html", htm: "text/html",
  pdf: "application/pdf", zip: "application/zip", tar: "application/x-tar", bin: "application/octet-stream",
  wav: "audio/x-wav", mp4: "video/mp4", h5: "application/x-hdf5", parquet: "application/octet-stream",
  pkl: "application/octet-stream", npy: "application/octet-stream", gz: "application/octet-stream",
};

/** werkzeug quote_header_value(allow_token=True). */
function quoteHeaderValue(value: string): string {
  if (value === "") return '""';
  if (/^[!#$%&'*+\-.0-9A-Z^_`a-z|~]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** handlers._content_disposition_attachment: RFC 6266, with RFC 5987 for non-ASCII names. */
export function contentDisposition(fileName: string): string {
  if (/^[\x00-\x7f]*$/.test(fileName)) return `attachment; filename=${quoteHeaderValue(fileName)}`;
  const fallback = fileName.normalize("NFKD").replace(/[^\x00-\x7f]/g, "") || "download";
  const quoted = [...new TextEncoder().encode(fileName)]
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9_.\-~!#$&+^`|]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
  return `attachment; filename=${quoteHeaderValue(fallback)}; filename*=UTF-8''${quoted}`;
}

/**
 * A file sent as an attachment, streamed: never shown inline on the server's origin (XSS), as
 * _create_artifact_file_response / the FastAPI download route send it.
 */
export function fileResponse(file: ArtifactFile, artifactPath: string, extra: Record<string, string> = {}): Response {
  const name = artifactPath.split("/").pop() ?? "";
  const headers: Record<string, string> = {
    "content-type": guessMimeType(name),
    "content-disposition": contentDisposition(name),
    "x-content-type-options": "nosniff",
    "content-length": String(file.size),
    ...extra,
  };
  if (file.lastModified !== undefined) headers["last-modified"] = new Date(file.lastModified).toUTCString();
  return new Response(file.stream(), { headers });
}

const HTML = { "content-type": "text/html; charset=utf-8" };

/** handlers._disable_unless_serve_artifacts (Flask routes). */
export function servingDisabled(rule: string): Response {
  const body =
    `Endpoint: ${rule} disabled due to the mlflow server running with \`--no-serve-artifacts\`. ` +
    "To enable artifacts server functionality, run `mlflow server` with `--serve-artifacts`";
  return new Response(body, { status: 503, headers: HTML });
}

/** handlers._disable_if_artifacts_only: every tracking and registry route under --artifacts-only. */
export function artifactsOnlyDisabled(rule: string): Response {
  const body =
    `Endpoint: ${rule} disabled due to the mlflow server running in \`--artifacts-only\` mode. ` +
    "To enable tracking server functionality, run `mlflow server` without `--artifacts-only`";
  return new Response(body, { status: 503, headers: HTML });
}

/** A Flask rule as request.url_rule prints it: `:x` → `<x>`, the wildcard → `<path:artifact_path>`. */
export function flaskRule(path: string, wildcard = "artifact_path"): string {
  return path.replace(/:(\w+)/g, "<$1>").replace("*", `<path:${wildcard}>`);
}

/** FastAPI's HTTPException: {"detail": ...} (the native upload and download routes). */
export function httpException(status: number, detail: string): Response {
  return new Response(JSON.stringify({ detail }), { status, headers: { "content-type": "application/json" } });
}

/** Starlette's answer to an exception that escapes a FastAPI route. */
export function starletteInternalServerError(): Response {
  return new Response("Internal Server Error", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** Flask's 400 page: request.args["path"] on a request without it (BadRequestKeyError). */
export function flaskBadRequest(): Response {
  const body =
    "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n" +
    "<p>The browser (or proxy) sent a request that this server could not understand.</p>\n";
  return new Response(body, { status: 400, headers: HTML });
}

/** Flask's 404 page: a `<path:...>` rule does not match an empty path. */
export function flaskNotFound(): Response {
  const body =
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n" +
    "<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n";
  return new Response(body, { status: 404, headers: HTML });
}

const PRESIGNED_ONLY = (what: "uploaded directly to" | "downloaded directly from", verb: "upload" | "download") =>
  `This server requires artifacts to be ${what} storage. Upgrade your MLflow client to match this server ` +
  `(MLflow 3.18.0) or a newer version with presigned-only artifact support, then retry the ${verb}. ` +
  "If you are using the MLflow UI, reload the page to refresh the server settings.";

/** artifact_transfer.reject_proxied_artifact_{upload,download} under --artifacts-presigned-only. */
export function presignedOnlyRejection(upload: boolean): Response {
  const message = upload ? PRESIGNED_ONLY("uploaded directly to", "upload") : PRESIGNED_ONLY("downloaded directly from", "download");
  const body = { ...new MlflowError(message, "PERMISSION_DENIED").toJSON(), artifacts_presigned_only: true };
  return new Response(JSON.stringify(body), { status: 403, headers: { "content-type": "application/json" } });
}
