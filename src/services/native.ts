// The one registry of what mlflow-bun serves natively. An RPC listed here gets routes;
// every other RPC has none, so its requests fall through to the Python server.
import { separateRegistry, type Config } from "../config";
import type { NativeHandlers } from "../generated/contract";
import type { Stores } from "../store";
import type { RequestContext } from "./context";
import { experimentsService } from "./experiments";
import { registryService } from "./registry";
import { runsService } from "./runs";
import { artifactsService, type AnsweredByPython } from "./artifacts";
import { flaskRule } from "./artifact-responses";
import { artifactServing } from "./artifact-serving";
import { metricsService } from "./metrics";
import { searchRunsService } from "./search-runs";

export function nativeHandlers(stores: Stores, config: Config): NativeHandlers<RequestContext> {
  const experiments = experimentsService(stores, config);
  const runs = runsService(stores);
  const searchRuns = searchRunsService(stores);
  const metrics = metricsService(stores);
  const artifacts = artifactsService(stores, config);
  return {
    MlflowService: {
      createExperiment: experiments.createExperiment,
      getExperiment: experiments.getExperiment,
      getExperimentByName: experiments.getExperimentByName,
      searchExperiments: experiments.searchExperiments,
      deleteExperiment: experiments.deleteExperiment,
      restoreExperiment: experiments.restoreExperiment,
      updateExperiment: experiments.updateExperiment,
      setExperimentTag: experiments.setExperimentTag,
      deleteExperimentTag: experiments.deleteExperimentTag,
      createRun: runs.createRun,
      updateRun: runs.updateRun,
      deleteRun: runs.deleteRun,
      restoreRun: runs.restoreRun,
      getRun: runs.getRun,
      logMetric: runs.logMetric,
      logParam: runs.logParam,
      setTag: runs.setTag,
      deleteTag: runs.deleteTag,
      logBatch: runs.logBatch,
      logModel: runs.logModel,
      logInputs: runs.logInputs,
      searchRuns: searchRuns.searchRuns,
      getMetricHistory: metrics.getMetricHistory,
      getMetricHistoryBulkInterval: metrics.getMetricHistoryBulkInterval,
      listArtifacts: artifacts.listArtifacts,
    },
    // Registered models in another store (--registry-store-uri): no routes, so they go to Python.
    ...(separateRegistry(config) ? {} : { ModelRegistryService: modelRegistry(stores, config) }),
  };
}

/** The model registry: every registered-model and model-version RPC (services/registry.ts). */
function modelRegistry(stores: Stores, config: Config): NativeHandlers<RequestContext>["ModelRegistryService"] {
  const r = registryService(stores, config);
  return {
    createRegisteredModel: r.createRegisteredModel,
    renameRegisteredModel: r.renameRegisteredModel,
    updateRegisteredModel: r.updateRegisteredModel,
    deleteRegisteredModel: r.deleteRegisteredModel,
    getRegisteredModel: r.getRegisteredModel,
    searchRegisteredModels: r.searchRegisteredModels,
    getLatestVersions: r.getLatestVersions,
    createModelVersion: r.createModelVersion,
    updateModelVersion: r.updateModelVersion,
    transitionModelVersionStage: r.transitionModelVersionStage,
    deleteModelVersion: r.deleteModelVersion,
    getModelVersion: r.getModelVersion,
    searchModelVersions: r.searchModelVersions,
    getModelVersionDownloadUri: r.getModelVersionDownloadUri,
    setRegisteredModelTag: r.setRegisteredModelTag,
    setModelVersionTag: r.setModelVersionTag,
    deleteRegisteredModelTag: r.deleteRegisteredModelTag,
    deleteModelVersionTag: r.deleteModelVersionTag,
    setRegisteredModelAlias: r.setRegisteredModelAlias,
    deleteRegisteredModelAlias: r.deleteRegisteredModelAlias,
    getModelVersionByAlias: r.getModelVersionByAlias,
  };
}

/** A native route that is not an RPC of the protos (a plain Flask or FastAPI route in MLflow), or an RPC whose body must stream. */
export interface ExtraRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** As MLflow mounts it, without the static prefix. */
  path: string;
  /** The handler may hand the request to the Python server (server/app.ts forwards it). */
  handler: (request: Request) => Promise<Response | AnsweredByPython>;
  /** A tracking route: --artifacts-only answers MLflow's 503 (_disable_if_artifacts_only). */
  tracking?: boolean;
}

/** The non-proto routes served natively, mounted by server/app.ts next to the generated ones. */
export function extraRoutes(stores: Stores, config: Config): ExtraRoute[] {
  const metrics = metricsService(stores);
  return [
    // server/__init__.py: serve_get_metric_history_bulk (the UI's charts; ajax only, GET only)
    { method: "GET", path: "/ajax-api/2.0/mlflow/metrics/get-history-bulk", handler: metrics.getMetricHistoryBulk, tracking: true },
    ...artifactRoutes(stores, config),
  ];
}

/**
 * The mlflow-artifacts API and the UI's artifact downloads. The mlflow-artifacts RPCs are served
 * here rather than through the generated routes because their bodies stream (uploads) and their
 * answers are files; their paths are the generated ones (/api/2.0 and /ajax-api/2.0).
 */
function artifactRoutes(stores: Stores, config: Config): ExtraRoute[] {
  const a = artifactServing(stores, config);
  const prefix = config.staticPrefix.replace(/\/+$/, "");
  const routes: ExtraRoute[] = [];
  for (const api of ["/api/2.0", "/ajax-api/2.0"]) {
    const artifacts = `${api}/mlflow-artifacts/artifacts`;
    routes.push(
      { method: "GET", path: `${artifacts}/*`, handler: a.download(`${artifacts}/`) },
      { method: "PUT", path: `${artifacts}/*`, handler: a.upload(`${artifacts}/`) },
      { method: "GET", path: artifacts, handler: a.list(prefix + artifacts) },
      { method: "DELETE", path: `${artifacts}/*`, handler: a.remove(flaskRule(`${prefix}${artifacts}/*`), `${artifacts}/`) },
    );
    for (const op of ["create", "complete", "abort"] as const) {
      const base = `${api}/mlflow-artifacts/mpu/${op}`;
      routes.push({ method: "POST", path: `${base}/*`, handler: a.multipart(op, flaskRule(`${prefix}${base}/*`), `${base}/`) });
    }
  }
  // server/__init__.py: the UI's downloads, Flask routes under the static prefix only
  routes.push({ method: "GET", path: "/get-artifact", handler: a.getArtifact(`${prefix}/get-artifact`) });
  // Model versions in another store (--registry-store-uri) are Python's to read.
  if (!separateRegistry(config)) {
    routes.push({ method: "GET", path: "/model-versions/get-artifact", handler: a.getModelVersionArtifact(`${prefix}/model-versions/get-artifact`) });
  }
  return routes;
}
