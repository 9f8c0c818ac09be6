// handlers.py's _list_artifacts / list_artifacts_impl for the artifact stores this server can
// read itself: local paths (absolute or file:) through LocalArtifactRepository.list_artifacts,
// and mlflow-artifacts: roots resolved under the artifacts destination when it is local
// (_list_artifacts_for_proxied_run_artifact_root). Anything else (s3:, gs:, http:, a remote
// destination) needs MLflow's artifact repositories: the handler answers AnsweredByPython.
import { lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { PyError } from "../python/builtins";
import { normpath, unquote, urlparse, urlunparse } from "../python/urllib";
import type { Stores } from "../store";
import { sql } from "../store/sql";
import { has, type RequestContext } from "./context";
import { flaskInternalServerError } from "./flask";
import { validate } from "./validate";

/**
 * What a native handler returns when the request must be answered by the Python server
 * (server/app.ts forwards it there when --python-url is set, else answers 501).
 */
export class AnsweredByPython {
  constructor(readonly reason: string) {}
}

const TEMP_ARTIFACT_PREFIX = ".artifact.uploading."; // local_artifact_repo.py

export function artifactsService(stores: Stores, config: Config) {
  return {
    async listArtifacts(req: M.mlflow_ListArtifacts, ctx: RequestContext): Promise<M.mlflow_ListArtifacts_Response> {
      validate({ run_id: ["string", "required"], path: ["string"], page_token: ["string"] }, ctx);
      let path: string | undefined;
      try {
        path = has(req, "path") ? validatePathIsSafe(req.path ?? "") : undefined;
      } catch (e) {
        if (e instanceof PyError) return flaskInternalServerError() as never; // _decode's ValueError escapes
        throw e;
      }
      const runId = req.run_id || req.run_uuid || "";
      const run = await stores.db.one<{ artifact_uri: string | null }>(sql`SELECT artifact_uri FROM runs WHERE run_uuid = ${runId}`);
      if (!run) throw MlflowError.notFound(`Run with id=${runId} not found`);
      const root = run.artifact_uri ?? "";
      const scheme = urlparse(root).scheme;
      let files: M.mlflow_FileInfo[];
      if (["http", "https", "mlflow-artifacts"].includes(scheme) && config.serveArtifacts) {
        const destination = localDir(config.artifactsDestination);
        if (scheme !== "mlflow-artifacts" || destination === undefined) {
          return new AnsweredByPython(`artifact root ${root} with artifacts destination ${config.artifactsDestination}`) as never;
        }
        // _get_proxied_run_artifact_destination_path, then the destination repository's listing
        const rootPath = urlparse(root).path.replace(/^\/+/, "");
        const target = path !== undefined ? posixJoin(rootPath, path) : rootPath;
        files = listLocal(destination, target).map((f) => ({ ...f, path: path ? posixJoin(path, basename(f.path!)) : basename(f.path!) }));
      } else {
        const dir = localDir(root);
        if (dir === undefined) return new AnsweredByPython(`artifact root ${root}`) as never;
        files = listLocal(dir, path);
      }
      const response: M.mlflow_ListArtifacts_Response = { root_uri: root };
      if (files.length) response.files = files;
      return response;
    },
  };
}

/** The local directory of a path or file: URI (local_file_uri_to_path), or undefined for other schemes. */
function localDir(uri: string): string | undefined {
  const parsed = urlparse(uri);
  if (parsed.scheme !== "" && parsed.scheme !== "file") return undefined;
  return resolve(unquote(uri.startsWith("file:") ? parsed.path : uri)); // url2pathname unquotes
}

/** LocalArtifactRepository.list_artifacts: the entries of one directory, by path. */
function listLocal(artifactDir: string, path: string | undefined): M.mlflow_FileInfo[] {
  const rel = path ? normpath(path) : undefined;
  const listDir = rel ? join(artifactDir, rel) : artifactDir;
  validatePathWithinDirectory(artifactDir, listDir);
  if (!isDir(listDir)) return [];
  const infos = readdirSync(listDir)
    .filter((name) => !name.startsWith(TEMP_ARTIFACT_PREFIX))
    .map((name): M.mlflow_FileInfo => {
      const full = join(listDir, name);
      const filePath = relative(artifactDir, full);
      if (isDir(full)) return { path: filePath, is_dir: true };
      const size = statSync(full).size; // a dangling link raises, as os.path.getsize does
      return size ? { path: filePath, is_dir: false, file_size: size } : { path: filePath, is_dir: false }; // FileInfo.to_proto omits 0
    });
  return infos.sort((a, b) => codePointCompare(a.path!, b.path!));
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Python's str ordering (code points), not UTF-16 units. */
function codePointCompare(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const posixJoin = (a: string, b: string) => (b.startsWith("/") ? b : a === "" || a.endsWith("/") ? a + b : `${a}/${b}`);

/** pathlib's resolve(strict=False): symlinks resolved as far as the path exists. */
function resolveLoose(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(resolveLoose(parent), basename(p));
  }
}

/** uri.validate_path_within_directory: symlinks must not lead out of the artifact directory. */
function validatePathWithinDirectory(baseDir: string, constructed: string): void {
  const base = resolveLoose(resolve(baseDir));
  let exists = true;
  try {
    lstatSync(constructed);
  } catch {
    exists = false;
  }
  const target = exists ? resolveLoose(resolve(constructed)) : join(resolveLoose(dirname(resolve(constructed))), basename(constructed));
  const inside = target === base || target.startsWith(base.endsWith("/") ? base : `${base}/`);
  if (!inside) throw MlflowError.invalid("Invalid path: resolved path is outside the artifact directory");
}

/** uri.validate_path_is_safe: decoded, no '#', no '..' segment, not absolute (POSIX or Windows). */
export function validatePathIsSafe(input: string): string {
  let path = decode(input);
  path = path.replace(/[\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  const bad = MlflowError.invalid("Invalid path");
  if (path.includes("#")) throw bad;
  if (urlparse(path).scheme === "file") path = unquote(urlparse(path).path); // local_file_uri_to_path
  const windowsAbsolute = /^[A-Za-z]:[\\/]/.test(path) || /^[\\/]{2}[^\\/]+[\\/]+[^\\/]+/.test(path);
  if (path.split("/").includes("..") || windowsAbsolute || path.startsWith("/")) throw bad;
  return path;
}

/** uri._decode: unquote until the URL stops changing (at most 10 rounds; then ValueError). */
function decode(url: string): string {
  for (let i = 0; i < 10; i++) {
    const decoded = urlunparse(urlparse(unquote(url)));
    if (decoded === url) return decoded;
    url = decoded;
  }
  throw new PyError("ValueError", "Failed to decode url");
}

