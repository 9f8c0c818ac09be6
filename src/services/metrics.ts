// The metric-history handlers of handlers.py: _get_metric_history,
// get_metric_history_bulk_interval_handler, and the ajax-only get_metric_history_bulk_handler
// (a plain Flask route, not an RPC: it reads request.args and answers Flask's jsonify).
import { queryArgs } from "../python/urllib";
import type * as M from "../generated/types";
import { MlflowError } from "../errors";
import { pyInt, pyIntOf, pyJsonDumps, type PyValue } from "../python/builtins";
import { createPageToken, parseStartOffset } from "../search/utils";
import type { Stores } from "../store";
import { type RunMetricPoint, metricHistory, metricHistoryBulk, sampledMetricHistory } from "../store/metric-history";
import { has, type RequestContext } from "./context";
import { validate } from "./validate";
import { flaskInternalServerError } from "./flask";
import { concurrencyLimit } from "./limit";

const invalid = MlflowError.invalid;
const MAX_RUNS_GET_METRIC_HISTORY_BULK = 100; // handlers.py
const MAX_RESULTS_PER_RUN = 2500; // handlers.py
const MAX_HISTORY_RESULTS = 25000; // get_metric_history_bulk_handler
const MAX_RUN_IDS_PER_REQUEST = 100; // get_metric_history_bulk_handler
/** History reads at a time (each may be 25k+ rows); the rest queue (see limit.ts). */
const HEAVY_READS = 2;

/** Python's int() of a query-string value already checked int-like. */
const intOf = (v: unknown) => pyIntOf(v as PyValue);

export function metricsService(stores: Stores) {
  const db = stores.db;
  const heavy = concurrencyLimit(HEAVY_READS);
  return {
    async getMetricHistory(req: M.mlflow_GetMetricHistory, ctx: RequestContext): Promise<M.mlflow_GetMetricHistory_Response> {
      validate({ run_id: ["string", "required"], metric_key: ["string", "required"], page_token: ["string"] }, ctx);
      // An unset max_results means every value (HasField, not the proto's 0).
      const maxResults = has(req, "max_results") ? Number(req.max_results) : undefined;
      if (maxResults !== undefined && maxResults <= 0) {
        throw invalid(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer.`);
      }
      const offset = parseStartOffset(req.page_token || undefined);
      const { metrics, nextOffset } = await heavy(() => metricHistory(db, req.run_id || req.run_uuid || "", req.metric_key ?? "", maxResults, offset));
      const response: M.mlflow_GetMetricHistory_Response = {};
      if (metrics.length) response.metrics = metrics;
      if (nextOffset !== undefined) response.next_page_token = createPageToken(nextOffset);
      return response;
    },

    async getMetricHistoryBulkInterval(req: M.mlflow_GetMetricHistoryBulkInterval, ctx: RequestContext): Promise<M.mlflow_GetMetricHistoryBulkInterval_Response> {
      validate(
        {
          run_ids: [
            "required", "array", "itemsString",
            (x) => (Array.isArray(x) && x.length > MAX_RUNS_GET_METRIC_HISTORY_BULK
              ? `GetMetricHistoryBulkInterval request must specify at most ${MAX_RUNS_GET_METRIC_HISTORY_BULK} run_ids. Received ${x.length} run_ids.`
              : undefined),
          ],
          metric_key: ["required", "string"],
          start_step: ["intlike"],
          end_step: ["intlike"],
          max_results: [
            "intlike",
            (x) => {
              const n = intOf(x);
              return n >= 1n && n <= BigInt(MAX_RESULTS_PER_RUN) ? undefined : `max_results must be between 1 and ${MAX_RESULTS_PER_RUN}.`;
            },
          ],
        },
        ctx,
      );
      // get_metric_history_bulk_interval_impl reads these from request.args, not the message.
      const args = queryArgs(new URL(ctx.request.url));
      const maxResults = Number(intOf(args.get("max_results") ?? String(MAX_RESULTS_PER_RUN)));
      const start = args.get("start_step");
      const end = args.get("end_step");
      let range: { start: bigint; end: bigint } | undefined;
      if (start !== null && end !== null) {
        range = { start: intOf(start), end: intOf(end) };
        if (range.start > range.end) {
          throw invalid(`end_step must be greater than start_step. Found start_step=${range.start} and end_step=${range.end}.`);
        }
      } else if (start !== null || end !== null) {
        throw invalid("If either start step or end step are specified, both must be specified.");
      }
      const points = await heavy(() => sampledMetricHistory(db, req.run_ids ?? [], req.metric_key ?? "", Math.max(1, maxResults), range));
      const response: M.mlflow_GetMetricHistoryBulkInterval_Response = {};
      if (points.length) response.metrics = points;
      return response;
    },

    /** GET /ajax-api/2.0/mlflow/metrics/get-history-bulk */
    async getMetricHistoryBulk(request: Request): Promise<Response> {
      const args = queryArgs(new URL(request.url));
      const runIds = args.getAll("run_id");
      if (runIds.length === 0) throw invalid("GetMetricHistoryBulk request must specify at least one run_id.");
      if (runIds.length > MAX_RUN_IDS_PER_REQUEST) {
        throw invalid(`GetMetricHistoryBulk request cannot specify more than ${MAX_RUN_IDS_PER_REQUEST} run_ids. Received ${runIds.length} run_ids.`);
      }
      const key = args.get("metric_key");
      if (key === null) throw invalid("GetMetricHistoryBulk request must specify a metric_key.");
      const requested = pyInt(args.get("max_results") ?? String(MAX_HISTORY_RESULTS));
      if (requested === undefined) return flaskInternalServerError(); // int() raised ValueError
      const limit = Number(requested < BigInt(MAX_HISTORY_RESULTS) ? requested : BigInt(MAX_HISTORY_RESULTS));
      const points = await heavy(() => metricHistoryBulk(db, runIds, key, limit));
      // metrics_with_run_ids[:max_results], a Python slice: a negative bound drops from the end
      const kept = points.slice(0, limit < 0 ? Math.max(0, points.length + limit) : limit);
      return new Response(jsonifyBulk(kept), { headers: { "content-type": "application/json" } });
    },
  };
}

/**
 * Flask's jsonify of {"metrics": [MetricWithRunId.to_dict()...]}: sorted keys, compact, a
 * trailing newline, Python's float repr, and NaN/Infinity as bare words (json.dumps's
 * allow_nan), which strict JSON parsers reject, exactly as MLflow sends them.
 */
function jsonifyBulk(points: RunMetricPoint[]): string {
  const items = points.map(
    (m) => `{"key":${pyJsonDumps(m.key)},"run_id":${pyJsonDumps(m.run_id)},"step":${m.step},"timestamp":${m.timestamp},"value":${pyJsonDumps(m.value)}}`,
  );
  return `{"metrics":[${items.join(",")}]}\n`;
}
