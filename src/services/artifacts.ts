// handlers.py's _list_artifacts / list_artifacts_impl for the artifact stores this server can
// read itself (store/artifacts: local paths, file: and s3: URIs), and mlflow-artifacts: roots
// resolved under the artifacts destination (_list_artifacts_for_proxied_run_artifact_root).
// Anything else (gs:, http:, a destination of another scheme) needs MLflow's artifact
// repositories: the handler answers AnsweredByPython.
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { PyError } from "../python/builtins";
import { urlparse } from "../python/urllib";
import type { Stores } from "../store";
import { artifactStoreFor } from "../store/artifacts";
import { posixJoin } from "../store/artifacts/paths";
import { sql } from "../store/sql";
import { proxiedDestinationPath, validatePathIsSafe } from "./artifact-paths";
import { has, type RequestContext } from "./context";
import { flaskInternalServerError } from "./flask";
import { validate } from "./validate";

export { validatePathIsSafe } from "./artifact-paths";

/**
 * What a native handler returns when the request must be answered by the Python server
 * (server/app.ts forwards it there when --python-url is set, else answers 501).
 */
export class AnsweredByPython {
  constructor(readonly reason: string) {}
}

export function artifactsService(stores: Stores, config: Config) {
  let destination: ReturnType<typeof artifactStoreFor> | null = null;
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
        if (destination === null) destination = artifactStoreFor(config.artifactsDestination);
        if (scheme !== "mlflow-artifacts" || destination === undefined) {
          return new AnsweredByPython(`artifact root ${root} with artifacts destination ${config.artifactsDestination}`) as never;
        }
        // the destination repository's listing, renamed relative to the run's root
        const listed = await destination.list(proxiedDestinationPath(root, path));
        files = listed.map((f) => ({ ...f, path: path ? posixJoin(path, basename(f.path)) : basename(f.path) }));
      } else {
        const store = artifactStoreFor(root);
        if (store === undefined) return new AnsweredByPython(`artifact root ${root}`) as never;
        files = await store.list(path);
      }
      const response: M.mlflow_ListArtifacts_Response = { root_uri: root };
      if (files.length) response.files = files;
      return response;
    },
  };
}

const basename = (p: string) => p.slice(p.lastIndexOf("/") + 1);
