// Experiments: validation and MLflow semantics; SQL lives in store/experiments.ts.
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import type { Stores } from "../store";
import type { RequestContext } from "./context";
import { validate } from "./validate";

export function experimentsService(stores: Stores, _config: Config) {
  return {
    async createExperiment(req: M.mlflow_CreateExperiment, ctx: RequestContext): Promise<M.mlflow_CreateExperiment_Response> {
      validate({ name: ["required", "string"], artifact_location: ["string"], tags: ["array"] }, ctx);
      const id = await stores.experiments.create(req.name!, req.artifact_location || undefined, req.tags ?? []);
      return { experiment_id: id };
    },

    async getExperiment(req: M.mlflow_GetExperiment, ctx: RequestContext): Promise<M.mlflow_GetExperiment_Response> {
      validate({ experiment_id: ["required", "string"] }, ctx);
      const id = Number.parseInt(req.experiment_id || "0", 10);
      const experiment = await stores.experiments.get(id);
      if (!experiment) throw MlflowError.notFound(`No Experiment with id=${id} exists`);
      return { experiment };
    },
  };
}
