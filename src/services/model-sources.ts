// create-model-version's source rules (handlers.py): _validate_source_run, _validate_source_model,
// _validate_non_local_source_contains_relative_paths, _resolve_registered_model_source_lineage
// and the URI helpers they use (mlflow/utils/uri.py is_local_uri, file_utils.local_file_uri_to_path,
// store/artifact/utils/models.py _parse_model_uri, runs_artifact_repo.parse_runs_uri), with
// pathlib's resolve() (os.path.realpath: symlinks on the server's file system are followed).
// These are the checks behind MLflow's path-traversal fixes: a local source must lie inside the
// artifact directory of the run (or logged model) named with it; other sources must be absolute
// paths without relative segments; run and model artifact URIs must lie under that run's root.
import { lstatSync, readlinkSync } from "node:fs";
import { MlflowError } from "../errors";
import { hostname, unquote, urlparse, urlsplit } from "../python/urllib";

const invalid = MlflowError.invalid;

/** What the checks read from the tracking store and the registry. */
export interface SourceLookups {
  /** The run's artifact URI; undefined when there is no such run. */
  runArtifactUri(runId: string): Promise<string | null | undefined>;
  /** The logged model's artifact location; undefined when there is none (or it is deleted). */
  loggedModelLocation(modelId: string): Promise<string | undefined>;
}

// ---- URI helpers ----------------------------------------------------------------------------------

/** uri.is_local_uri (tracking/registry flavour); MLflow's error for a file: URI naming another host. */
export function isLocalUri(uri: string): boolean {
  if (uri === "databricks") return false;
  const parsed = urlparse(uri);
  if (parsed.scheme === "") return true;
  const host = hostname(parsed.netloc);
  const remote = !!host && !(host === "." || host.startsWith("localhost") || host.startsWith("127.0.0.1"));
  if (parsed.scheme === "file") {
    if (remote) {
      throw new MlflowError(
        `${uri} is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).`,
        "INTERNAL_ERROR",
      );
    }
    return true;
  }
  return false;
}

/** file_utils.local_file_uri_to_path (url2pathname is unquote on POSIX). */
export function localFileUriToPath(uri: string): string {
  return unquote(uri.startsWith("file:") ? urlparse(uri).path : uri);
}

/** urllib.parse.unquote_plus */
const unquotePlus = (s: string) => unquote(s.replace(/\+/g, " "));

/** os.path.realpath(path, strict=False) of Python 3.11, which Path.resolve() is. */
export function realpath(path: string, cwd = process.cwd()): string {
  const join = (a: string, b: string) => (a === "" ? b : a.endsWith("/") ? a + b : `${a}/${b}`);
  const split = (p: string): [string, string] => {
    const i = p.lastIndexOf("/") + 1;
    let head = p.slice(0, i);
    if (head && head !== "/".repeat(head.length)) head = head.replace(/\/+$/, "");
    return [head, p.slice(i)];
  };
  const seen = new Map<string, string | null>();
  const walk = (start: string, rest: string): [string, boolean] => {
    let p = start;
    if (rest.startsWith("/")) {
      rest = rest.slice(1);
      p = "/";
    }
    while (rest) {
      const cut = rest.indexOf("/");
      const name = cut < 0 ? rest : rest.slice(0, cut);
      rest = cut < 0 ? "" : rest.slice(cut + 1);
      if (!name || name === ".") continue;
      if (name === "..") {
        if (p) {
          const [head, tail] = split(p);
          p = tail === ".." ? join(join(head, ".."), "..") : head;
        } else p = "..";
        continue;
      }
      const next = join(p, name);
      let link = false;
      try {
        link = lstatSync(next.startsWith("/") ? next : `${cwd}/${next}`).isSymbolicLink();
      } catch {}
      if (!link) {
        p = next;
        continue;
      }
      if (seen.has(next)) {
        const known = seen.get(next)!;
        if (known !== null) {
          p = known;
          continue;
        }
        return [join(next, rest), false];
      }
      seen.set(next, null);
      const [resolved, ok] = walk(p, readlinkSync(next.startsWith("/") ? next : `${cwd}/${next}`, "utf8"));
      if (!ok) return [join(resolved, rest), false];
      p = resolved;
      seen.set(next, p);
    }
    return [p, true];
  };
  const [p] = walk("", path);
  return abspath(p, cwd);
}

/** posixpath.abspath */
function abspath(p: string, cwd: string): string {
  const full = p.startsWith("/") ? p : join2(cwd, p);
  // normpath
  const initial = full.startsWith("//") && !full.startsWith("///") ? 2 : 1;
  const out: string[] = [];
  for (const comp of full.split("/")) {
    if (comp === "" || comp === ".") continue;
    if (comp !== "..") out.push(comp);
    else if (out.length) out.pop();
  }
  return "/".repeat(initial) + out.join("/");
}
const join2 = (a: string, b: string) => (b === "" ? a : a.endsWith("/") ? a + b : `${a}/${b}`);

/** pathlib: `dir in [path, *path.parents]` for resolved absolute paths. */
function contains(dir: string, path: string): boolean {
  return dir === path || dir === "/" || path.startsWith(`${dir}/`);
}

export interface ParsedModelUri {
  modelId?: string;
  name?: string;
  version?: string;
  stage?: string;
  alias?: string;
}

/** store/artifact/utils/models.py _parse_model_uri (scheme models); throws MLflow's INTERNAL_ERROR. */
export function parseModelUri(uri: string): ParsedModelUri {
  const improper = () =>
    new MlflowError(
      `Not a proper models:/ URI: ${uri}. Models URIs must be of the form 'models:/name/suffix' or 'models:/name@alias' where suffix ` +
        "is a version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.",
    );
  // urlparse(uri, allow_fragments=False): '#' stays in the path
  const parsed = urlparse(uri.replace(/#/g, "\uffff"));
  const path = parsed.path.replace(/\uffff/g, "#");
  if (parsed.scheme !== "models") throw improper();
  if (!path.startsWith("/") || path.length <= 1) throw improper();
  const parts = path.replace(/^\/+/, "").split("/");
  if (parts.length > 2 || parts[0]!.trim() === "") throw improper();
  if (parts.length === 2) {
    const [name, suffix] = parts as [string, string];
    if (suffix.trim() === "") throw improper();
    if (/^\p{Nd}+$/u.test(suffix)) return { name, version: suffix };
    if (suffix.toLowerCase() === "latest") return { name };
    return { name, stage: suffix };
  }
  if (path.includes("@")) {
    const at = parts[0]!.lastIndexOf("@");
    const alias = at >= 0 ? parts[0]!.slice(at + 1) : "";
    if (at < 0 || alias.trim() === "") throw improper();
    return { name: parts[0]!.slice(0, at), alias };
  }
  return { modelId: parts[0] };
}

/** _normalized_uri_parts */
function normalizedParts(uri: string): [string, string, string[]] {
  const s = urlsplit(uri);
  const iterUnquote = (v: string) => {
    for (let u = unquote(v); u !== v; u = unquote(v)) v = u;
    return v;
  };
  return [s.scheme.toLowerCase(), s.netloc.toLowerCase(), s.path.split("/").filter((p) => p).map(iterUnquote)];
}

/** _is_uri_within_root */
function isUriWithinRoot(source: string, root: string): boolean {
  const [ss, sa, sp] = normalizedParts(source);
  const [rs, ra, rp] = normalizedParts(root);
  return ss === rs && sa === ra && rp.length > 0 && rp.every((p, i) => sp[i] === p);
}

/** _is_mlflow_artifact_source */
function isMlflowArtifactSource(source: string): boolean {
  const [scheme, , parts] = normalizedParts(source);
  if (scheme === "mlflow-artifacts") return true;
  const route = ["api", "2.0", "mlflow-artifacts", "artifacts"];
  if (scheme !== "http" && scheme !== "https") return false;
  for (let i = 0; i + route.length <= parts.length; i++) if (route.every((r, j) => parts[i + j] === r)) return true;
  return false;
}

// ---- the checks -------------------------------------------------------------------------------------

export const invalidSource = (source: string, idName: "run_id" | "model_id") =>
  invalid(`Invalid model version source: '${source}'. The ${idName} request parameter must identify the resource that contains the source.`);

/** _validate_non_local_source_contains_relative_paths */
function noRelativePaths(original: string): void {
  const error = () =>
    invalid(
      `Invalid model version source: '${original}'. If supplying a source as an http, https, local file path, ftp, objectstore, or ` +
        "mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.",
    );
  let source = original;
  for (let u = unquotePlus(source); u !== source; u = unquotePlus(source)) source = u;
  const sourcePath = urlparse(source).path.replace(/\/+$/, "").replace(/\/+/g, "/");
  if (sourcePath.includes("\0") || source.split("/").includes("..")) throw error();
  if (realpath(sourcePath) !== sourcePath) throw error();
}

/** A local path inside the artifact directory of the run (or logged model): [ok, the resolved source]. */
function withinLocalRoot(source: string, root: string | null): [boolean, string] {
  const resolved = realpath(localFileUriToPath(source));
  if (root === null || !isLocalUri(root)) return [false, resolved];
  return [contains(realpath(localFileUriToPath(root)), resolved), resolved];
}

/** _validate_source_run */
export async function validateSourceRun(source: string, runId: string, lookups: SourceLookups): Promise<void> {
  if (isLocalUri(source)) {
    let shown = source;
    if (runId) {
      const root = await lookups.runArtifactUri(runId);
      if (root === undefined) throw invalidSource(source, "run_id");
      const [ok, resolved] = withinLocalRoot(source, root);
      if (ok) return;
      shown = resolved;
    }
    throw invalid(
      `Invalid model version source: '${shown}'. To use a local path as a model version source, the run_id request parameter has to ` +
        "be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.",
    );
  }
  noRelativePaths(source);
  const parsed = urlparse(source);
  if (parsed.scheme === "runs") {
    if (parsed.netloc) throw invalidSource(source, "run_id");
    if (runId && parseRunsUri(source) === runId) return;
    throw invalidSource(source, "run_id");
  }
  if (parsed.scheme === "models") {
    if (parsed.netloc) throw invalidSource(source, "model_id");
    if (parseModelVersionSource(source).modelId !== undefined) throw invalidSource(source, "model_id");
  }
  if (isMlflowArtifactSource(source)) {
    if (runId) {
      const root = await lookups.runArtifactUri(runId);
      if (root === undefined) throw invalidSource(source, "run_id");
      if (root !== null && isUriWithinRoot(source, root)) return;
    }
    throw invalidSource(source, "run_id");
  }
}

/** _validate_source_model */
export async function validateSourceModel(source: string, modelId: string, lookups: SourceLookups): Promise<void> {
  if (isLocalUri(source)) {
    const root = await lookups.loggedModelLocation(modelId);
    if (root === undefined) throw invalidSource(source, "model_id");
    const [ok, resolved] = withinLocalRoot(source, root);
    if (ok) return;
    throw invalid(
      `Invalid model version source: '${resolved}'. To use a local path as a model version source, the model_id request parameter has ` +
        "to be specified and the local path has to be contained within the artifact directory of the run specified by the model_id.",
    );
  }
  noRelativePaths(source);
  const parsed = urlparse(source);
  if (parsed.scheme === "models") {
    if (parsed.netloc) throw invalidSource(source, "model_id");
    const sourceModelId = parseModelVersionSource(source).modelId;
    if (sourceModelId !== undefined) {
      if (sourceModelId === modelId) return;
      throw invalidSource(source, "model_id");
    }
  }
  if (parsed.scheme === "runs") throw invalidSource(source, "model_id");
  if (isMlflowArtifactSource(source)) {
    const root = await lookups.loggedModelLocation(modelId);
    if (root === undefined) throw invalidSource(source, "model_id");
    if (isUriWithinRoot(source, root)) return;
    throw invalidSource(source, "model_id");
  }
}

/** _parse_model_version_source: an improper models:/ URI is an invalid source (model_id). */
export function parseModelVersionSource(source: string): ParsedModelUri {
  try {
    return parseModelUri(source);
  } catch (e) {
    if (e instanceof MlflowError) throw invalidSource(source, "model_id");
    throw e;
  }
}

/** RunsArtifactRepository.parse_runs_uri's run id (MLflow's INTERNAL_ERROR for improper URIs). */
function parseRunsUri(uri: string): string {
  const improper = () =>
    new MlflowError(`Not a proper runs:/ URI: ${uri}. Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'`);
  const path = urlparse(uri).path;
  if (!path.startsWith("/") || path.length <= 1) throw improper();
  const runId = path.slice(1).split("/")[0]!;
  if (runId === "") throw improper();
  return runId;
}

