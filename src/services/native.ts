// The one registry of what mlflow-bun serves natively. An RPC listed here gets routes;
// every other RPC has none, so its requests fall through to the Python server.
import type { Config } from "../config";
import type { NativeHandlers } from "../generated/contract";
import type { Stores } from "../store";
import type { RequestContext } from "./context";
import { experimentsService } from "./experiments";

export function nativeHandlers(stores: Stores, config: Config): NativeHandlers<RequestContext> {
  const experiments = experimentsService(stores, config);
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
    },
  };
}
