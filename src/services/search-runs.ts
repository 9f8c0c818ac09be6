// handlers.py's _search_runs / search_runs_impl: the handler's schema, then the store's
// _search_runs (store/run-search.ts), whose checks run in MLflow's order.
import type * as M from "../generated/types";
import { PyError, pyIntOf, pyJson, pyTypeName, type PyValue } from "../python/builtins";
import type { Stores } from "../store";
import type { ViewType } from "../store/experiments";
import { searchRuns, SEARCH_MAX_RESULTS_THRESHOLD } from "../store/run-search";
import type { RequestContext } from "./context";
import { flaskInternalServerError } from "./flask";
import { validate } from "./validate";

/**
 * `lambda x: _assert_less_than_or_equal(int(x), 50000)`: an AssertionError without a message.
 * It runs even when the proto parsed (it is no type check), so int(None) can raise: a PyError.
 */
function atMostThreshold(value: unknown): string | undefined {
  if (pyIntOf(value as PyValue) <= BigInt(SEARCH_MAX_RESULTS_THRESHOLD)) return undefined;
  return `Invalid value ${pyJson(value)} for parameter 'max_results' supplied:  Hint: Value was of type '${pyTypeName(value)}'.`;
}

export function searchRunsService(stores: Stores) {
  return {
    async searchRuns(req: M.mlflow_SearchRuns, ctx: RequestContext): Promise<M.mlflow_SearchRuns_Response> {
      try {
        validate(
          {
            experiment_ids: ["array"],
            filter: ["string"],
            max_results: ["intlike", atMostThreshold],
            order_by: ["array", "itemsString"],
          },
          ctx,
        );
      } catch (e) {
        // The TypeError of int(None) escapes catch_mlflow_exception: Flask's HTML 500.
        if (e instanceof PyError) return flaskInternalServerError() as never;
        throw e;
      }
      const { runs, nextPageToken } = await searchRuns(stores.db, {
        experimentIds: req.experiment_ids ?? [],
        filter: req.filter ?? "",
        viewType: (req.run_view_type ?? "ACTIVE_ONLY") as ViewType,
        maxResults: Number(req.max_results ?? 1000), // the proto's default
        orderBy: req.order_by ?? [],
        pageToken: req.page_token || undefined,
      });
      const response: M.mlflow_SearchRuns_Response = {};
      if (runs.length) response.runs = runs;
      if (nextPageToken) response.next_page_token = nextPageToken;
      return response;
    },
  };
}
