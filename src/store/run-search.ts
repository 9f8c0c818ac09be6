// SqlAlchemyStore._search_runs: one statement for the page (max_results + 1 run ids, sorted
// and filtered as MLflow's SQL sorts and filters), then the page's runs loaded set-wise by
// run-view.ts. Validation happens in MLflow's order, before the database is touched. On
// SQLite, a filter with an equality on a param, tag or run name adds one cheap count first,
// to choose which side the page query starts from (see drives()).
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { experimentIdParam, parseExperimentId, sqlInteger } from "../search/experiments";
import { parseRunFilter, type RunFilterSql, runFilterSql, runOrderBySql } from "../search/runs";
import { createPageToken, parseStartOffset } from "../search/utils";
import type { Db } from "./db";
import { DEFAULT_WORKSPACE, type ViewType } from "./experiments";
import { loadRuns } from "./run-view";
import { type Fragment, join, list, raw, sql } from "./sql";

const STAGES: Record<ViewType, string[]> = { ACTIVE_ONLY: ["active"], DELETED_ONLY: ["deleted"], ALL: ["active", "deleted"] };
export const SEARCH_MAX_RESULTS_THRESHOLD = 50000;

export interface SearchRunsParams {
  experimentIds: readonly string[];
  filter: string;
  viewType: ViewType;
  maxResults: number;
  orderBy: readonly string[];
  pageToken?: string;
}

/** SqlAlchemyStore._validate_max_results_param */
function validateMaxResults(maxResults: number): void {
  if (maxResults < 1) throw MlflowError.invalid(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`);
  if (maxResults > SEARCH_MAX_RESULTS_THRESHOLD) {
    throw MlflowError.invalid(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${SEARCH_MAX_RESULTS_THRESHOLD}`);
  }
}

/** The page's run ids in MLflow's order, and the token of the next page. */
export async function searchRunIds(db: Db, p: SearchRunsParams): Promise<{ runIds: string[]; nextPageToken?: string }> {
  const dialect = db.dialect;
  validateMaxResults(p.maxResults);
  const clauses = parseRunFilter(p.filter);
  const order = runOrderBySql(p.orderBy, dialect);
  const stages = STAGES[p.viewType];
  const filters = runFilterSql(clauses, dialect, {
    selectParams: order.selectParams,
    sortJoinParams: order.joinParams,
    experimentIds: p.experimentIds.length,
    stages: stages.length,
  });
  const offset = parseStartOffset(p.pageToken);
  const ids = p.experimentIds.map(parseExperimentId);

  // Errors the driver raises while binding (sqlite3 binds in order: the first one wins).
  const bindErrors = [...filters.bindErrors];
  const idParams: (number | bigint)[] = [];
  ids.forEach((id, i) => {
    try {
      // runs.experiment_id is int4 on PostgreSQL: psycopg2's literal for a larger id matches
      // nothing; on SQLite an id beyond 64 bits cannot be bound.
      const param = experimentIdParam(id, dialect);
      if (param !== undefined) idParams.push(param);
    } catch (e) {
      bindErrors.push({ position: filters.experimentIdsAt + i, error: e as MlflowError });
    }
  });
  const firstBindError = bindErrors.sort((a, b) => a.position - b.position)[0];
  if (firstBindError) throw firstBindError.error;
  if (offset < 0 && dialect === "postgres") {
    // SQLite reads a negative OFFSET as 0; PostgreSQL refuses it (MLflow: BAD_REQUEST).
    throw new MlflowError("(psycopg2.errors.InvalidRowCountInResultOffsetClause) OFFSET must not be negative", "BAD_REQUEST");
  }

  const where: Fragment[] = [
    // The experiments of the default workspace among those asked for (see docs/differences.md).
    idParams.length
      ? sql`runs.experiment_id IN (SELECT experiments.experiment_id FROM experiments
          WHERE experiments.experiment_id IN (${list(idParams)}) AND experiments.workspace = ${DEFAULT_WORKSPACE})`
      : raw("1 = 0"),
    sql`runs.lifecycle_stage IN (${list(stages)})`,
    ...filters.conditions,
  ];
  const driver = filters.driver && (await drives(db, filters.driver, where.slice(0, 2))) ? filters.driver : undefined;
  if (filters.driver && !driver) where.push(filters.driver.exists);
  if (driver) where.unshift(driver.on, raw("runs.run_uuid = driver.run_uuid"));
  const from = driver ? sql`${raw(driver.table)} AS driver CROSS JOIN runs` : raw("runs");
  const rows = await db.all<{ run_uuid: string }>(sql`
    SELECT runs.run_uuid FROM ${from} ${join(order.joins, " ")}
    WHERE ${join(where, " AND ")}
    ORDER BY ${order.orderBy}
    LIMIT ${p.maxResults + 1} OFFSET ${sqlInteger(BigInt(offset), dialect)}`);
  const runIds = rows.slice(0, p.maxResults).map((r) => r.run_uuid);
  return { runIds, nextPageToken: rows.length === p.maxResults + 1 ? createPageToken(offset + p.maxResults) : undefined };
}

/** search_runs: the page's runs as Run.to_proto emits them (dataset inputs, model outputs). */
export async function searchRuns(db: Db, p: SearchRunsParams): Promise<{ runs: M.mlflow_Run[]; nextPageToken?: string }> {
  const { runIds, nextPageToken } = await searchRunIds(db, p);
  return { runs: await loadRuns(db, runIds), nextPageToken };
}

/**
 * SQLite without statistics scans every run of the database and probes each filter per run
 * of the experiments, or, given `params CROSS JOIN runs`, reads every row of the driving key
 * first. The first costs about twice as much per run of the experiments as the second per
 * row of the key (measured on 110k runs, with 10k and 100k in the experiment): this one
 * cheap count (index-only and a scan of runs, ~20 ms at 100k runs) picks the cheaper plan.
 */
async function drives(db: Db, driver: NonNullable<RunFilterSql["driver"]>, scope: Fragment[]): Promise<boolean> {
  const counts = await db.one<{ runs: number; keyed: number }>(sql`
    SELECT (SELECT count(*) FROM runs WHERE ${join(scope, " AND ")}) AS runs,
      (SELECT count(*) FROM ${raw(driver.table)} WHERE key = ${driver.key}) AS keyed`);
  return Number(counts!.runs) * 2 > Number(counts!.keyed);
}
