// The experiments handlers of handlers.py: each one's request schema, then MLflow's checks in
// MLflow's order (handler first, then what its store method validates before touching the
// database), then the store. SQL lives in store/experiments.ts, the search grammar in search/.
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { parseExperimentId } from "../search/experiments";
import { jsonLoads, PyDict, PyError, pyInt, pyLen, pyStrip, pyStrRepr, type PyValue } from "../python/builtins";
import { hostname, normpath, port, unquote, urlparse, urlsplit, urlunparse, urlunsplit } from "../python/urllib";
import type { Stores } from "../store";
import type { ViewType } from "../store/experiments";
import type { RequestContext } from "./context";
import { pyJson } from "../python/builtins";
import { validate } from "./validate";
import { flaskInternalServerError } from "./flask";

const invalid = MlflowError.invalid;

export function experimentsService(stores: Stores, config: Config) {
  const store = stores.experiments;
  const id = (experimentId: string | undefined) => parseExperimentId(experimentId ?? "");

  return {
    async createExperiment(req: M.mlflow_CreateExperiment, ctx: RequestContext): Promise<M.mlflow_CreateExperiment_Response> {
      validate({ name: ["required", "string"], artifact_location: ["string"], tags: ["array"] }, ctx);
      const tags = (req.tags ?? []).map((t) => ({ key: t.key ?? "", value: t.value ?? "" }));
      if (tags.filter((t) => isCustomView(t.key)).length > MAX_CUSTOM_VIEWS) throw customViewLimit();
      let location = req.artifact_location ?? "";
      try {
        if (location) validateStorageLocation(location, "artifact_location", config);
        // SqlAlchemyStore.create_experiment, before its session
        validateExperimentName(req.name);
        if (location) {
          location = resolveUriIfLocal(location);
          validateArtifactLocationLength(location);
        }
      } catch (e) {
        // A handler may answer a Response as is (server/app.ts passes it through).
        if (e instanceof PyError) return flaskInternalServerError() as never;
        throw e;
      }
      for (const t of tags) validateExperimentTag(t.key, t.value);
      return { experiment_id: await store.create(req.name!, location, tags) };
    },

    async getExperiment(req: M.mlflow_GetExperiment, ctx: RequestContext): Promise<M.mlflow_GetExperiment_Response> {
      validate({ experiment_id: ["required", "string"] }, ctx);
      return { experiment: await store.get(id(req.experiment_id)) };
    },

    async getExperimentByName(req: M.mlflow_GetExperimentByName, ctx: RequestContext): Promise<M.mlflow_GetExperimentByName_Response> {
      validate({ experiment_name: ["required", "string"] }, ctx);
      const experiment = await store.getByName(req.experiment_name!);
      if (!experiment) throw MlflowError.notFound(`Could not find experiment with name '${req.experiment_name}'`);
      return { experiment };
    },

    async searchExperiments(req: M.mlflow_SearchExperiments, ctx: RequestContext): Promise<M.mlflow_SearchExperiments_Response> {
      validate({ view_type: ["intlike"], max_results: ["intlike"], order_by: ["array"], filter: ["string"], page_token: ["string"] }, ctx);
      // max_results has no proto default: left out, it is 0, which the store rejects.
      const { experiments, nextPageToken } = await store.search({
        viewType: (req.view_type ?? "ACTIVE_ONLY") as ViewType,
        maxResults: Number(req.max_results ?? 0),
        filter: req.filter ?? "",
        orderBy: req.order_by ?? [],
        pageToken: req.page_token || undefined,
      });
      const response: M.mlflow_SearchExperiments_Response = {};
      if (experiments.length) response.experiments = experiments;
      if (nextPageToken) response.next_page_token = nextPageToken;
      return response;
    },

    async deleteExperiment(req: M.mlflow_DeleteExperiment, ctx: RequestContext): Promise<M.mlflow_DeleteExperiment_Response> {
      validate({ experiment_id: ["required", "string"] }, ctx);
      await store.delete(id(req.experiment_id));
      return {};
    },

    async restoreExperiment(req: M.mlflow_RestoreExperiment, ctx: RequestContext): Promise<M.mlflow_RestoreExperiment_Response> {
      validate({ experiment_id: ["required", "string"] }, ctx);
      await store.restore(id(req.experiment_id));
      return {};
    },

    async updateExperiment(req: M.mlflow_UpdateExperiment, ctx: RequestContext): Promise<M.mlflow_UpdateExperiment_Response> {
      validate({ experiment_id: ["required", "string"], new_name: ["string", "required"] }, ctx);
      if (req.new_name) {
        validateExperimentName(req.new_name);
        await store.rename(id(req.experiment_id), req.new_name);
      }
      return {};
    },

    async setExperimentTag(req: M.mlflow_SetExperimentTag, ctx: RequestContext): Promise<M.mlflow_SetExperimentTag_Response> {
      validate({ experiment_id: ["required", "string"], key: ["required", "string"], value: ["string"] }, ctx);
      const key = req.key ?? "";
      const value = req.value ?? "";
      if (isCustomView(key)) {
        // _validate_custom_view_tag_write: adding a view is capped; overwriting one is not.
        const experiment = await store.get(id(req.experiment_id));
        const keys = (experiment.tags ?? []).map((t) => t.key!);
        if (!keys.includes(key) && keys.filter(isCustomView).length >= MAX_CUSTOM_VIEWS) throw customViewLimit(experiment.experiment_id);
      }
      validateExperimentTag(key, value);
      await store.setTag(id(req.experiment_id), key, value);
      return {};
    },

    async deleteExperimentTag(req: M.mlflow_DeleteExperimentTag, ctx: RequestContext): Promise<M.mlflow_DeleteExperimentTag_Response> {
      validate({ experiment_id: ["required", "string"], key: ["required", "string"] }, ctx);
      await store.deleteTag(id(req.experiment_id), req.key ?? "", req.experiment_id ?? "");
      return {};
    },
  };
}

// ---- custom views (handlers.py) -----------------------------------------------------------------

const MAX_CUSTOM_VIEWS = 50;
const isCustomView = (key: string) => key.startsWith("mlflow.customView.view");
const customViewLimit = (experimentId?: string) =>
  invalid(
    `Unable to create another custom view${experimentId ? ` for experiment ${experimentId}` : ""}; the maximum number of custom ` +
      `views per experiment is ${MAX_CUSTOM_VIEWS}. Delete an existing custom view before creating a new one.`,
  );

// ---- utils/validation.py ------------------------------------------------------------------------

const exceedsMaximumLength = (path: string, limit: number) => invalid(`'${path}' exceeds the maximum length of ${limit} characters`);

/** _validate_experiment_name (the handlers' schemas have already made it a non-empty string) */
export function validateExperimentName(name: string | undefined): void {
  if (name === undefined || !pyStrip(name)) throw invalid(`Invalid experiment name: '${name ?? "None"}'`);
  if (pyLen(name) > 500) throw exceedsMaximumLength("name", 500);
}

/** _validate_experiment_tag: _validate_tag_name, the length limits, _validate_trace_experiment_tag. */
export function validateExperimentTag(key: string, value: string): void {
  if (!/^[/\p{L}\p{N}_.\- :]*$/u.test(key)) {
    throw invalid(
      `Invalid value ${pyJson(key)} for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), ` +
        "dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).",
    );
  }
  const norm = normpath(key);
  if (norm !== key || norm === "." || norm.startsWith("..") || norm.startsWith("/")) {
    throw invalid(
      `Invalid value ${pyJson(key)} for parameter 'key' supplied: Names may be treated as files in certain cases, and must ` +
        `not resolve to other names when treated as such. This name would resolve to ${pyStrRepr(norm)}`,
    );
  }
  if (pyLen(key) > 250) throw exceedsMaximumLength("key", 250);
  if (pyLen(value) > 20000) throw exceedsMaximumLength("value", 20000);
  if (key === "mlflow.trace.archivalRetention") traceArchivalDuration(value, "value", "duration", false);
  if (key === "mlflow.trace.archiveNow") traceArchivalDuration(value, "older_than", undefined, true);
}

/** _parse_trace_archival_duration_config */
function traceArchivalDuration(value: string, durationKey: string, expectedType: string | undefined, allowMissing: boolean): void {
  const payload = jsonLoads(new TextEncoder().encode(value));
  if (!(payload instanceof PyDict)) throw invalid("Trace archival config must be encoded as a JSON object.");
  if (expectedType !== undefined && payload.get("type") !== expectedType) throw invalid(`Trace archival config must use type '${expectedType}'.`);
  const duration: PyValue | undefined = payload.get(durationKey) ?? null;
  if (duration === null && allowMissing) return;
  // _validate_trace_archival_retention_string
  const form = "Trace archival retention must be in the form `<int><unit>`, where unit is one of 'm', 'h', or 'd'.";
  if (typeof duration !== "string") throw invalid(form);
  const trimmed = pyStrip(duration);
  if (pyLen(trimmed) > 32) throw invalid("Trace archival duration must be at most 32 characters.");
  if (!/^[1-9][0-9]*[mhd]$/.test(trimmed)) throw invalid(form);
}

/** _validate_experiment_artifact_location_length, with MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH */
function validateArtifactLocationLength(location: string): void {
  const raw = process.env.MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH;
  const max = raw === undefined ? 2048n : pyInt(raw);
  if (max === undefined) {
    const literal = pyStrRepr(raw!);
    throw new PyError("ValueError", `Failed to convert ${literal} for MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH: invalid literal for int() with base 10: ${literal}`);
  }
  if (BigInt(pyLen(location)) > max) {
    throw invalid(
      `Invalid artifact path length. The length of the artifact path cannot be greater than ${max} characters. ` +
        "To configure this limit, please set the MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH environment variable.",
    );
  }
}

// ---- artifact locations: handlers.py _validate_storage_location_uri, mlflow/utils/uri.py ----------

/** _validate_storage_location_uri */
function validateStorageLocation(value: string, field: string, config: Config): void {
  const parsed = urlparse(value);
  if (parsed.fragment || parsed.params) throw invalid(`'${field}' URL can't include fragments or params.`);
  if (decodeQuery(parsed.query).includes("..")) throw invalid("Invalid query string");
  const scheme = rejectedHostScheme(value, config);
  if (scheme !== undefined) {
    throw invalid(
      `'${field}' cannot use the '${scheme}' scheme: the '${scheme}' scheme addresses a host other than the tracking server's ` +
        "configured artifact storage, so the server would connect to the host named in the URI. Set the " +
        "MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES environment variable on the server to allow it.",
    );
  }
  if (value.startsWith("runs:")) throw invalid(`Artifact location cannot be a runs:/ URI. Given: '${value}'`);
  validateArtifactLocationLength(value);
}

/** uri._decode: unquote until stable (at most 10 rounds). */
function decodeQuery(url: string): string {
  for (let i = 0; i < 10; i++) {
    const parsed = urlunparse(urlparse(unquote(url)));
    if (parsed === url) return url;
    url = parsed;
  }
  throw new PyError("ValueError", "Failed to decode url");
}

const DB_ENGINES = ["postgresql", "mysql", "sqlite", "mssql"];

/** uri.get_uri_scheme (with extract_db_type_from_uri's checks for database schemes) */
function uriScheme(uri: string): string {
  const scheme = urlparse(uri).scheme;
  if (DB_ENGINES.some((db) => scheme.toLowerCase().startsWith(db))) {
    const parts = scheme.split("+");
    if (parts.length > 2) {
      throw invalid(`Invalid database URI: '${uri}'. Please refer to https://mlflow.org/docs/latest/tracking.html#storage for format specifications.`);
    }
    if (!DB_ENGINES.includes(parts[0]!)) throw invalid(`Invalid database engine: '${parts[0]}'. Supported database engines are ${DB_ENGINES.join(", ")}`);
    return parts[0]!;
  }
  return scheme.length === 1 && /^\p{L}$/u.test(scheme) ? "" : scheme;
}

// store/artifact/host_policy.py: schemes whose repositories connect to the host in the URI.
const HOST_SCHEMES = new Set(["ftp", "sftp", "hdfs", "viewfs", "http", "https", "mlflow-artifacts", "r2", "b2", "abfss"]);
const FAMILIES: Record<string, string> = { viewfs: "hdfs", https: "http", "mlflow-artifacts": "http" };
const DEFAULT_PORTS: Record<string, (number | null)[]> = {
  ftp: [21], sftp: [22], http: [80], https: [443], "mlflow-artifacts": [80, 443], r2: [443], b2: [443], abfss: [443],
};

/** host_addressed_uri_targets: "family|host|port" strings, or undefined when no host is named. */
function hostTargets(uri: string): string[] | undefined {
  const scheme = uriScheme(uri);
  if (!HOST_SCHEMES.has(scheme)) return undefined;
  const { netloc } = urlparse(uri);
  if (scheme === "mlflow-artifacts" && !netloc) return undefined;
  const malformed = [`malformed|${netloc}|`];
  if (netloc.includes("\\") || [...netloc].some((c) => pyStrip(c) === "")) return malformed;
  let p: number | null;
  try {
    p = port(netloc);
  } catch {
    return malformed;
  }
  const host = (hostname(netloc) ?? "").toLowerCase();
  return (p !== null ? [p] : (DEFAULT_PORTS[scheme] ?? [null])).map((x) => `${FAMILIES[scheme] ?? scheme}|${host}|${x ?? ""}`);
}

/** rejected_host_addressed_scheme: the scheme when the server must not connect to the URI's host. */
export function rejectedHostScheme(uri: string, config: Config): string | undefined {
  const targets = hostTargets(uri);
  if (targets === undefined) return undefined;
  const scheme = uriScheme(uri);
  const allowed = process.env.MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES;
  if (allowed !== undefined && allowed.split(",").some((s) => pyStrip(s).toLowerCase() === scheme)) return undefined;
  // The hosts of the server's own artifact root and destination are trusted.
  const trusted = new Set([config.defaultArtifactRoot, config.artifactsDestination].flatMap((u) => (u ? (hostTargets(u) ?? []) : [])));
  if (targets.some((t) => trusted.has(t))) return undefined;
  return scheme;
}

/** uri.resolve_uri_if_local: a relative local path (or file: URI) becomes absolute, from the cwd. */
export function resolveUriIfLocal(uri: string, cwd = process.cwd()): string {
  if (uri === "databricks") return uri;
  const parsed = urlparse(uri);
  if (parsed.scheme === "file") {
    const host = hostname(parsed.netloc);
    if (host && !(host === "." || host.startsWith("localhost") || host.startsWith("127.0.0.1"))) {
      throw new MlflowError(
        `${uri} is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).`,
        "INTERNAL_ERROR",
      );
    }
  } else if (parsed.scheme !== "") return uri;
  const localPath = unquote(uri.startsWith("file:") ? parsed.path : uri); // local_file_uri_to_path
  if (localPath.startsWith("/")) return uri;
  // pathlib: Path(cwd).joinpath(local_path).as_posix() drops empty and "." segments
  const joined = [cwd.replace(/\/+$/, ""), ...localPath.split("/").filter((s) => s !== "" && s !== ".")].join("/") || "/";
  if (uriScheme(uri) === "") return joined;
  const split = urlsplit(uri);
  return urlunsplit({ scheme: split.scheme, netloc: "", path: joined, query: split.query, fragment: split.fragment });
}
