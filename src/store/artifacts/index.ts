// The artifact store for a root URI (artifact_repository_registry, for the schemes mlflow-bun
// serves itself): local paths and file: URIs, and s3:. Anything else has no native store.
import { resolve } from "node:path";
import { unquote, urlparse } from "../../python/urllib";
import { LocalArtifactStore } from "./local";
import { S3ArtifactStore } from "./s3";
import type { ArtifactStore } from "./types";

export type { ArtifactFile, ArtifactStore, FileInfo, MultipartPart } from "./types";
export { LocalArtifactStore, TEMP_ARTIFACT_PREFIX } from "./local";
export { S3ArtifactStore } from "./s3";

/** The local directory of a path or file: URI (local_file_uri_to_path), or undefined for other schemes. */
export function localDir(uri: string): string | undefined {
  const parsed = urlparse(uri);
  if (parsed.scheme !== "" && parsed.scheme !== "file") return undefined;
  return resolve(unquote(uri.startsWith("file:") ? parsed.path : uri)); // url2pathname unquotes
}

/**
 * A store for `uri`, or undefined when mlflow-bun cannot serve it itself. s3: needs static keys
 * in the environment: boto3's other credential sources (~/.aws, instance roles) are Python's.
 */
export function artifactStoreFor(uri: string, env: Record<string, string | undefined> = process.env): ArtifactStore | undefined {
  const dir = localDir(uri);
  if (dir !== undefined) return new LocalArtifactStore(dir);
  if (urlparse(uri).scheme === "s3" && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return new S3ArtifactStore(uri, env);
  return undefined;
}
