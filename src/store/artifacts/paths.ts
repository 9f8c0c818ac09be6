// Path rules the artifact stores apply themselves: containment in the real file system
// (uri.validate_path_within_directory) and artifact_repo.verify_artifact_path.
import { lstatSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { MlflowError } from "../../errors";
import { pyStrRepr } from "../../python/builtins";
import { normpath } from "../../python/urllib";

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
export function validatePathWithinDirectory(baseDir: string, constructed: string): void {
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

/** artifact_repo.verify_artifact_path: a relative path with no `..` that normalizes to itself. */
export function verifyArtifactPath(artifactPath: string | undefined): void {
  if (artifactPath && pathNotUnique(artifactPath)) {
    // a plain MlflowException: INTERNAL_ERROR
    const message = `Invalid artifact path: '${artifactPath}'. ${BAD_PATH_MESSAGE} ${pyStrRepr(normpath(artifactPath))}`;
    throw new MlflowError(message, "INTERNAL_ERROR");
  }
}

const BAD_PATH_MESSAGE =
  "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. " +
  "This name would resolve to";

/** validation.path_not_unique. */
function pathNotUnique(name: string): boolean {
  const norm = normpath(name);
  return norm !== name || norm === "." || norm.startsWith("..") || norm.startsWith("/");
}

/** posixpath.join for two parts. */
export const posixJoin = (a: string, b: string) => (b.startsWith("/") ? b : a === "" || a.endsWith("/") ? a + b : `${a}/${b}`);

