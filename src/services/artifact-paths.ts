// MLflow's artifact path checks (mlflow/utils/uri.py and the artifact handlers), the one place
// every artifact route goes through before a path reaches a store. A request path is checked
// twice: as text here (validatePathIsSafe), and against the file system by the local store
// (store/artifacts/paths.ts validatePathWithinDirectory) so a symlink inside the destination
// cannot lead out of it.
import { MlflowError } from "../errors";
import { PyError } from "../python/builtins";
import { unquote, urlparse, urlunparse } from "../python/urllib";
import { posixJoin } from "../store/artifacts/paths";

export { validatePathWithinDirectory } from "../store/artifacts/paths";

/** uri.validate_path_is_safe: decoded, no '#', no '..' segment, not absolute (POSIX or Windows). */
export function validatePathIsSafe(input: string): string {
  let path = decode(input);
  path = escapeControlCharacters(path);
  const bad = MlflowError.invalid("Invalid path");
  if (path.includes("#")) throw bad;
  if (urlparse(path).scheme === "file") path = unquote(urlparse(path).path); // local_file_uri_to_path
  if (path.split("/").includes("..") || isWindowsAbsolute(path) || path.startsWith("/")) throw bad;
  return path;
}

/** uri._escape_control_characters: each C0 control and DEL as %XX. */
function escapeControlCharacters(path: string): string {
  return path.replace(/[\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * pathlib.PureWindowsPath(path).is_absolute(): a drive with a root (`C:\`, `C:/`) or a UNC
 * share (`\\host\share`, `//host/share`). Either separator counts, as on Windows.
 */
function isWindowsAbsolute(path: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(path) || /^[\\/]{2}[^\\/]+[\\/]+[^\\/]+/.test(path);
}

/** uri._decode: unquote until the URL stops changing (at most 10 rounds; then ValueError). */
export function decode(url: string): string {
  for (let i = 0; i < 10; i++) {
    const decoded = urlunparse(urlparse(unquote(url)));
    if (decoded === url) return decoded;
    url = decoded;
  }
  throw new PyError("ValueError", "Failed to decode url");
}

/**
 * handlers._get_multipart_upload_file_name: the `path` field of a multipart request names the
 * file (older clients sent a local path, POSIX or Windows): its basename, checked, then its
 * basename again since decoding may have revealed separators.
 */
export function multipartFileName(path: string): string {
  let name = ntBasename(path);
  if (name) name = ntBasename(validatePathIsSafe(name));
  if (name === "" || name === "." || name === "..") throw MlflowError.invalid("Invalid path");
  return name;
}

/** ntpath.basename: after the drive, the part after the last `/` or `\`. */
function ntBasename(path: string): string {
  const rest = /^[A-Za-z]:/.test(path) ? path.slice(2) : path;
  const i = Math.max(rest.lastIndexOf("/"), rest.lastIndexOf("\\"));
  return rest.slice(i + 1);
}

/**
 * skill_registry.artifact_paths.is_skill_upload_namespace: paths under `skills/` (or
 * `workspaces/<ws>/skills/`) belong to the server's skill registry and are immutable here.
 */
export function isSkillUploadNamespace(artifactPath: string): boolean {
  let decoded: string;
  try {
    decoded = decode(artifactPath);
  } catch {
    return false;
  }
  let segments = decoded.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.length >= 2 && segments[0]!.toLowerCase() === "workspaces") segments = segments.slice(2);
  return segments.length > 0 && segments[0]!.toLowerCase() === "skills";
}

/**
 * handlers._get_proxied_run_artifact_destination_path: where a proxied run root
 * (mlflow-artifacts:/x or http(s)://host/api/2.0/mlflow-artifacts/artifacts/x) lives under the
 * artifacts destination, with `relative` appended.
 */
export function proxiedDestinationPath(root: string, relative?: string): string {
  const parsed = urlparse(root);
  let rootPath: string;
  if (parsed.scheme === "mlflow-artifacts") rootPath = parsed.path.replace(/^\/+/, "");
  else {
    const anchor = "/api/2.0/mlflow-artifacts/artifacts/";
    const i = parsed.path.indexOf(anchor);
    if (i < 0) throw new MlflowError(`Invalid proxied artifact root: ${root}`, "INTERNAL_ERROR");
    rootPath = parsed.path.split(anchor)[1]!.replace(/^\/+/, "");
  }
  return relative !== undefined ? posixJoin(rootPath, relative) : rootPath;
}
