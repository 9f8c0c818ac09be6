// The one registry of what mlflow-bun serves natively. An RPC listed here gets routes;
// every other RPC has none, so its requests fall through to the Python server.
import type { Config } from "../config";
import type { NativeHandlers } from "../generated/contract";
import type { Stores } from "../store";
import type { RequestContext } from "./context";
import { experimentsService } from "./experiments";
import { registryService } from "./registry";
import { runsService } from "./runs";
import { artifactsService } from "./artifacts";
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
    ModelRegistryService: modelRegistry(stores, config),
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

/** A native route that is not an RPC of the protos: a plain Flask route in MLflow. */
export interface ExtraRoute {
  method: "GET" | "POST";
  /** As MLflow mounts it, without the static prefix. */
  path: string;
  handler: (request: Request) => Promise<Response>;
}

/** The non-proto routes served natively, mounted by server/app.ts next to the generated ones. */
export function extraRoutes(stores: Stores, _config: Config): ExtraRoute[] {
  const metrics = metricsService(stores);
  return [
    // server/__init__.py: serve_get_metric_history_bulk (the UI's charts; ajax only, GET only)
    { method: "GET", path: "/ajax-api/2.0/mlflow/metrics/get-history-bulk", handler: metrics.getMetricHistoryBulk },
  ];
}
