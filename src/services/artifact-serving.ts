// The artifact routes as `mlflow server` answers them (handlers.py and, for downloads and
// uploads under uvicorn, server/artifact_router.py): the mlflow-artifacts proxy API over the
// artifacts destination, and the UI's /get-artifact and /model-versions/get-artifact.
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { PyError } from "../python/builtins";
import { queryArgs, unquote, urlparse } from "../python/urllib";
import { json, errorResponse } from "../server/response";
import { parseRequest } from "../server/request";
import type { Stores } from "../store";
import { artifactStoreFor, type ArtifactStore } from "../store/artifacts";
import { sql } from "../store/sql";
import {
  isSkillUploadNamespace,
  multipartFileName,
  proxiedDestinationPath,
  validatePathIsSafe,
} from "./artifact-paths";
import {
  artifactsOnlyDisabled,
  fileResponse,
  flaskBadRequest,
  flaskNotFound,
  flaskRule,
  httpException,
  presignedOnlyRejection,
  servingDisabled,
  starletteInternalServerError,
} from "./artifact-responses";
import { AnsweredByPython } from "./artifacts";
import { has } from "./context";
import { flaskInternalServerError } from "./flask";
import { registryService } from "./registry";
import { validate } from "./validate";

export type ArtifactHandler = (request: Request) => Promise<Response | AnsweredByPython>;

const SKILL_IMMUTABLE = "Skill upload content is immutable; register a new version instead";
const SERVING_DISABLED = "Artifact serving is disabled. Run `mlflow server` with `--serve-artifacts` to enable.";

/** Where MLflow keeps artifacts logged through the proxy: --artifacts-destination. */
export function destinationStore(config: Config): () => ArtifactStore | undefined {
  let store: ArtifactStore | undefined | null = null;
  return () => (store === null ? (store = artifactStoreFor(config.artifactsDestination)) : store);
}

/** The path after `base` in the request URL, decoded once as the ASGI/WSGI server does. */
function wildcardPath(request: Request, base: string): string {
  const pathname = new URL(request.url).pathname;
  const i = pathname.indexOf(base);
  return unquote(pathname.slice(i + base.length));
}

/** Errors the way a Flask route of MLflow answers them: MlflowError as JSON, Python errors as Flask's 500. */
async function flaskErrors(fn: () => Promise<Response | AnsweredByPython>): Promise<Response | AnsweredByPython> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof PyError) return flaskInternalServerError();
    if (e instanceof AnsweredByPython) return e;
    throw e;
  }
}

export function artifactServing(stores: Stores, config: Config) {
  const destination = destinationStore(config);
  const registry = registryService(stores, config);

  /** The destination store, or the reason this server cannot reach it natively. */
  const dest = (): ArtifactStore => {
    const store = destination();
    if (!store) throw new AnsweredByPython(`artifacts destination ${config.artifactsDestination}`);
    return store;
  };

  /** _send_artifact: the file, MLflow's 404 when missing, its 400 for a directory. */
  const send = async (store: ArtifactStore, path: string, extra?: Record<string, string>): Promise<Response> => {
    const file = await store.read(path);
    if (file === "missing") throw new MlflowError(`No such artifact: '${path}'`, "RESOURCE_DOES_NOT_EXIST");
    if (file === "directory") throw MlflowError.invalid(`Artifact path refers to a directory, not a file: '${path}'`);
    return fileResponse(file, path, extra);
  };

  /** artifact_router.download_artifact (FastAPI): GET /mlflow-artifacts/artifacts/<path>. */
  const download = (base: string): ArtifactHandler => async (request) => {
    if (config.artifactsPresignedOnly) return presignedOnlyRejection(false);
    if (!config.serveArtifacts) return httpException(503, SERVING_DISABLED);
    try {
      const path = validatePathIsSafe(wildcardPath(request, base));
      const store = dest();
      const file = await store.read(path);
      if (file === "directory") return httpException(400, `Artifact path refers to a directory, not a file: '${path}'`);
      if (file === "missing") throw new MlflowError(`No such artifact: '${path}'`, "RESOURCE_DOES_NOT_EXIST");
      return fileResponse(file, path);
    } catch (e) {
      return fastapiError(e);
    }
  };

  /** artifact_router.upload_artifact (FastAPI): PUT /mlflow-artifacts/artifacts/<path>, streamed. */
  const upload = (base: string): ArtifactHandler => async (request) => {
    if (config.artifactsPresignedOnly) return presignedOnlyRejection(true);
    if (!config.serveArtifacts) return httpException(503, SERVING_DISABLED);
    try {
      const store = dest(); // first: a destination served by Python gets the untouched body
      const path = validatePathIsSafe(wildcardPath(request, base));
      if (isSkillUploadNamespace(path)) return httpException(403, SKILL_IMMUTABLE);
      const slash = path.lastIndexOf("/"); // posixpath.split
      const head = slash >= 0 ? path.slice(0, slash).replace(/\/+$/, "") : "";
      const tail = path.slice(slash + 1);
      if (!tail) return httpException(400, "Artifact path must include a filename (cannot end with '/').");
      await store.write(head || undefined, tail, request.body);
      return new Response(null, { status: 200 });
    } catch (e) {
      return fastapiError(e);
    }
  };

  /** handlers._list_artifacts_mlflow_artifacts: GET /mlflow-artifacts/artifacts?path=. */
  const list = (rule: string): ArtifactHandler => (request) =>
    flaskErrors(async () => {
      if (!config.serveArtifacts) return servingDisabled(rule);
      const { message } = await parseRequest(request, "mlflow.artifacts.ListArtifacts", new URL(request.url));
      const req = message as M.mlflow_artifacts_ListArtifacts;
      const path = has(req, "path") ? validatePathIsSafe(req.path ?? "") : undefined;
      const files = (await dest().list(path)).map((f) => ({ ...f, path: f.path.split("/").pop()! }));
      return json(files.length ? { files } : {});
    });

  /** handlers._delete_artifact_mlflow_artifacts: DELETE /mlflow-artifacts/artifacts/<path>. */
  const remove = (rule: string, base: string): ArtifactHandler => (request) =>
    flaskErrors(async () => {
      if (!config.serveArtifacts) return servingDisabled(rule);
      const store = dest();
      const raw = wildcardPath(request, base);
      if (raw === "" || raw.startsWith("/")) return flaskNotFound(); // `<path:...>` needs a first character
      const path = validatePathIsSafe(raw);
      if (isSkillUploadNamespace(path)) throw new MlflowError(SKILL_IMMUTABLE, "PERMISSION_DENIED");
      await parseRequest(request, "mlflow.artifacts.DeleteArtifact", new URL(request.url));
      await store.delete(path);
      return json({});
    });

  /** handlers._{create,complete,abort}_multipart_upload_artifact: POST /mlflow-artifacts/mpu/<op>/<path>. */
  const multipart = (op: "create" | "complete" | "abort", rule: string, base: string): ArtifactHandler => (request) =>
    flaskErrors(async () => {
      if (!config.serveArtifacts) return servingDisabled(rule);
      const store = dest();
      const raw = wildcardPath(request, base);
      if (raw === "" || raw.startsWith("/")) return flaskNotFound();
      const artifactPath = validatePathIsSafe(raw);
      if (isSkillUploadNamespace(artifactPath)) throw new MlflowError(SKILL_IMMUTABLE, "PERMISSION_DENIED");
      const type = { create: "CreateMultipartUpload", complete: "CompleteMultipartUpload", abort: "AbortMultipartUpload" }[op];
      const { message, ctx } = await parseRequest(request, `mlflow.artifacts.${type}`, new URL(request.url));
      const req = message as { path?: string; num_parts?: number; upload_id?: string; parts?: { part_number?: number; etag?: string }[] };
      if (op === "create") validate({ path: ["required", "string"], num_parts: ["intlike"] }, ctx);
      if (op === "complete") validate({ path: ["required", "string"], upload_id: ["string"], parts: ["required"] }, ctx);
      if (op === "abort") validate({ path: ["required", "string"], upload_id: ["string"] }, ctx);
      const fileName = multipartFileName(req.path ?? "");
      if (isSkillUploadNamespace(`${artifactPath}/${fileName}`)) throw new MlflowError(SKILL_IMMUTABLE, "PERMISSION_DENIED");
      const mpu = store.multipart;
      if (!mpu) throw new MlflowError("Multipart upload is not supported for the current artifact repository", "NOT_IMPLEMENTED");
      if (op === "create") return json(await mpu.createMultipartUpload(artifactPath, fileName, Number(req.num_parts ?? 0)));
      if (op === "complete") {
        const parts = (req.parts ?? []).map((p) => ({ part_number: Number(p.part_number ?? 0), etag: p.etag ?? "" }));
        await mpu.completeMultipartUpload(artifactPath, fileName, req.upload_id ?? "", parts);
      } else await mpu.abortMultipartUpload(artifactPath, fileName, req.upload_id ?? "");
      return json({});
    });

  /** handlers.get_artifact_handler: the UI's GET /get-artifact?run_id=&path=. */
  const getArtifact = (rule: string): ArtifactHandler => (request) =>
    flaskErrors(async () => {
      if (config.artifactsOnly) return artifactsOnlyDisabled(rule);
      if (config.artifactsPresignedOnly) return presignedOnlyRejection(false);
      const args = queryArgs(new URL(request.url));
      const runId = args.get("run_id") || args.get("run_uuid") || undefined;
      if (!args.has("path")) return flaskBadRequest();
      const path = validatePathIsSafe(args.get("path")!);
      const run = await stores.db.one<{ artifact_uri: string | null }>(sql`SELECT artifact_uri FROM runs WHERE run_uuid = ${runId ?? ""}`);
      if (!run) throw MlflowError.notFound(`Run with id=${runId ?? "None"} not found`);
      return sendFrom(run.artifact_uri ?? "", path);
    });

  /** handlers.get_model_version_artifact_handler: GET /model-versions/get-artifact?name=&version=&path=. */
  const getModelVersionArtifact = (rule: string): ArtifactHandler => (request) =>
    flaskErrors(async () => {
      if (config.artifactsOnly) return artifactsOnlyDisabled(rule);
      const args = queryArgs(new URL(request.url));
      if (config.artifactsPresignedOnly && args.get("presigned") !== "true") return presignedOnlyRejection(false);
      if (!args.has("path")) return flaskBadRequest();
      const path = validatePathIsSafe(args.get("path")!);
      if (args.get("presigned") === "true") return new AnsweredByPython("presigned model version downloads");
      const req: M.mlflow_GetModelVersionDownloadUri = {};
      if (args.has("name")) req.name = args.get("name")!;
      if (args.has("version")) req.version = args.get("version")!;
      const { artifact_uri } = await registry.getModelVersionDownloadUri!(req);
      return sendFrom(artifact_uri ?? "", path);
    });

  /** A run's or version's artifact: through the destination when proxied, else its own store. */
  const sendFrom = async (root: string, path: string): Promise<Response | AnsweredByPython> => {
    const scheme = urlparse(root).scheme;
    if (["http", "https", "mlflow-artifacts"].includes(scheme) && config.serveArtifacts) {
      const store = destination();
      if (!store || scheme !== "mlflow-artifacts") return new AnsweredByPython(`artifact root ${root}`);
      return send(store, proxiedDestinationPath(root, path), { "cache-control": "no-cache" });
    }
    const store = artifactStoreFor(root);
    if (!store) return new AnsweredByPython(`artifact root ${root}`);
    return send(store, path, { "cache-control": "no-cache" });
  };

  return { download, upload, list, remove, multipart, getArtifact, getModelVersionArtifact };
}

/** The FastAPI routes' error handling: MlflowException as JSON, anything else Starlette's 500. */
function fastapiError(e: unknown): Response | AnsweredByPython {
  if (e instanceof AnsweredByPython) return e;
  if (e instanceof MlflowError) return errorResponse(e);
  console.error(`Error in artifact route: ${(e as Error)?.message ?? e}`);
  return starletteInternalServerError();
}
