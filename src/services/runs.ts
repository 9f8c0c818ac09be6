// The run handlers of handlers.py: each one's request schema, then MLflow's checks in MLflow's
// order (handler first, then what its store method validates before touching the database), then
// the store. SQL lives in store/runs.ts (and metrics.ts, run-inputs.ts, run-view.ts).
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { PyError, pyLen } from "../python/builtins";
import { parseExperimentId } from "../search/experiments";
import type { Stores } from "../store";
import type { LoggedMetric } from "../store/metrics";
import type { DatasetInput } from "../store/run-inputs";
import { LOGGED_MODELS_TAG } from "../store/runs";
import { has, type RequestContext } from "./context";
import { flaskInternalServerError } from "./flask";
import { appendToHistory, modelTagsDict, parseModelJson } from "./log-model";
import { generateRandomName } from "./run-names";
import { validateBatch, validateDatasetInputs, validateMetric, validateParam, validateRunId, validateTag } from "./run-validation";
import { validate } from "./validate";

const MAX_BATCH_LOG_REQUEST_SIZE = 1_000_000;

/** Metric.from_proto: empty model and dataset fields are None. */
function metricOf(m: M.mlflow_Metric | M.mlflow_LogMetric): LoggedMetric {
  return {
    key: m.key ?? "",
    value: m.value ?? 0,
    timestamp: Number(m.timestamp ?? 0),
    step: Number(m.step ?? 0),
    modelId: m.model_id || undefined,
    datasetName: m.dataset_name || undefined,
    datasetDigest: m.dataset_digest || undefined,
  };
}

const keyValue = (t: { key?: string; value?: string }) => ({ key: t.key ?? "", value: t.value ?? "" });

/** _assert_required(item.get(field), path=...) over a list of JSON objects (_log_batch's checks). */
const fieldsPresent = (list: string, fields: string[]) => (value: unknown) => {
  if (!Array.isArray(value)) return undefined;
  for (const [i, item] of value.entries()) {
    // item.get(...) on a non-dict raises AttributeError, which Flask answers with its 500 page
    if (item === null || typeof item !== "object" || Array.isArray(item)) throw new PyError("AttributeError", "object has no attribute 'get'");
    for (const field of fields) {
      const v = (item as Record<string, unknown>)[field];
      if (v === undefined || v === null || v === "") return `Missing value for required parameter '${list}[${i}].${field}'.`;
    }
  }
  return undefined;
};

/** A PyError escapes MLflow's handlers: Flask's HTML 500 (server/app.ts passes a Response through). */
async function orFlask500<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof PyError) return flaskInternalServerError() as never;
    throw e;
  }
}

export function runsService(stores: Stores) {
  const store = stores.runs;

  return {
    async createRun(req: M.mlflow_CreateRun, ctx: RequestContext): Promise<M.mlflow_CreateRun_Response> {
      validate({ experiment_id: ["string"], start_time: ["intlike"], run_name: ["string"] }, ctx);
      const experimentId = req.experiment_id ?? "";
      const run = await store.create(
        {
          experimentId,
          lookupId: parseExperimentId(experimentId || "0"),
          userId: req.user_id ?? "",
          startTime: Number(req.start_time ?? 0),
          runName: req.run_name ?? "",
          tags: (req.tags ?? []).map(keyValue),
        },
        () => generateRandomName(),
      );
      return { run };
    },

    async getRun(req: M.mlflow_GetRun, ctx: RequestContext): Promise<M.mlflow_GetRun_Response> {
      validate({ run_id: ["required", "string"] }, ctx);
      return { run: await store.get(req.run_id || req.run_uuid || "") };
    },

    async updateRun(req: M.mlflow_UpdateRun, ctx: RequestContext): Promise<M.mlflow_UpdateRun_Response> {
      validate({ run_id: ["required", "string"], end_time: ["intlike"], status: ["string"], run_name: ["string"] }, ctx);
      const runInfo = await store.updateInfo(
        req.run_id || req.run_uuid || "",
        has(req, "status") ? req.status : undefined,
        has(req, "end_time") ? Number(req.end_time) : undefined,
        has(req, "run_name") ? req.run_name : undefined,
      );
      return { run_info: runInfo };
    },

    async deleteRun(req: M.mlflow_DeleteRun, ctx: RequestContext): Promise<M.mlflow_DeleteRun_Response> {
      validate({ run_id: ["required", "string"] }, ctx);
      await store.delete(req.run_id ?? "");
      return {};
    },

    async restoreRun(req: M.mlflow_RestoreRun, ctx: RequestContext): Promise<M.mlflow_RestoreRun_Response> {
      validate({ run_id: ["required", "string"] }, ctx);
      await store.restore(req.run_id ?? "");
      return {};
    },

    async logMetric(req: M.mlflow_LogMetric, ctx: RequestContext): Promise<M.mlflow_LogMetric_Response> {
      validate(
        {
          run_id: ["required", "string"], key: ["required", "string"], value: ["required", "floatlike"], timestamp: ["intlike", "required"],
          step: ["intlike"], model_id: ["string"], dataset_name: ["string"], dataset_digest: ["string"],
        },
        ctx,
      );
      const metric = metricOf(req);
      const runId = req.run_id || req.run_uuid || "";
      // with a model id, MLflow checks the run before it validates the metric
      if (metric.modelId !== undefined) await store.checkActive(runId);
      validateMetric(metric, "");
      await store.logMetric(runId, metric);
      return {};
    },

    async logParam(req: M.mlflow_LogParam, ctx: RequestContext): Promise<M.mlflow_LogParam_Response> {
      validate({ run_id: ["required", "string"], key: ["required", "string"], value: ["string"] }, ctx);
      const param = validateParam(keyValue(req));
      await store.logParam(req.run_id || req.run_uuid || "", param);
      return {};
    },

    async setTag(req: M.mlflow_SetTag, ctx: RequestContext): Promise<M.mlflow_SetTag_Response> {
      validate({ run_id: ["required", "string"], key: ["required", "string"], value: ["string"] }, ctx);
      const tag = validateTag(keyValue(req));
      await store.setTag(req.run_id || req.run_uuid || "", tag);
      return {};
    },

    async deleteTag(req: M.mlflow_DeleteTag, ctx: RequestContext): Promise<M.mlflow_DeleteTag_Response> {
      validate({ run_id: ["required", "string"], key: ["required", "string"] }, ctx);
      await store.deleteTag(req.run_id ?? "", req.key ?? "");
      return {};
    },

    async logBatch(req: M.mlflow_LogBatch, ctx: RequestContext): Promise<M.mlflow_LogBatch_Response> {
      return orFlask500(async () => {
        // _validate_batch_log_api_req(_get_request_json()): len() of what Flask decoded, so the
        // keys of an object, or the characters of a double-encoded body; None has no len().
        const body = ctx.body;
        const size =
          typeof body === "string" ? pyLen(body)
          : Array.isArray(body) ? body.length
          : body !== null && typeof body === "object" ? Object.keys(body).length
          : undefined;
        if (size === undefined) throw new PyError("TypeError", "object of type 'NoneType' has no len()");
        if (size > MAX_BATCH_LOG_REQUEST_SIZE) {
          throw MlflowError.invalid(`Batched logging API requests must be at most ${MAX_BATCH_LOG_REQUEST_SIZE} bytes, got a request of size ${size}.`);
        }
        validate(
          {
            run_id: ["string", "required"],
            metrics: ["array", fieldsPresent("metrics", ["key", "value", "timestamp"])],
            params: ["array", fieldsPresent("params", ["key"])],
            tags: ["array", fieldsPresent("tags", ["key"])],
          },
          ctx,
        );
        const runId = req.run_id ?? "";
        const metrics = (req.metrics ?? []).map(metricOf);
        validateRunId(runId);
        const { params, tags } = validateBatch(metrics, (req.params ?? []).map(keyValue), (req.tags ?? []).map(keyValue));
        await store.logBatch(runId, metrics, params, tags);
        return {};
      });
    },

    async logModel(req: M.mlflow_LogModel, ctx: RequestContext): Promise<M.mlflow_LogModel_Response> {
      return orFlask500(async () => {
        validate({ run_id: ["string", "required"], model_json: ["string", "required"] }, ctx);
        const model = modelTagsDict(parseModelJson(req.model_json ?? ""));
        await store.recordLoggedModel(req.run_id ?? "", (previous) =>
          validateTag({ key: LOGGED_MODELS_TAG, value: appendToHistory(previous, model) }).value,
        );
        return {};
      });
    },

    async logInputs(req: M.mlflow_LogInputs, ctx: RequestContext): Promise<M.mlflow_LogInputs_Response> {
      validate({ run_id: ["required", "string"], datasets: ["array"], models: ["array"] }, ctx);
      const datasets: DatasetInput[] = (req.datasets ?? []).map((input) => {
        const d = input.dataset ?? {};
        return {
          dataset: {
            name: d.name ?? "", digest: d.digest ?? "", source_type: d.source_type ?? "", source: d.source ?? "",
            schema: has(d, "schema") ? d.schema : undefined, profile: has(d, "profile") ? d.profile : undefined,
          },
          tags: (input.tags ?? []).map(keyValue),
        };
      });
      const runId = req.run_id ?? "";
      validateRunId(runId);
      validateDatasetInputs(datasets);
      await store.logInputs(runId, datasets, (req.models ?? []).map((m) => m.model_id ?? ""));
      return {};
    },
  };
}
