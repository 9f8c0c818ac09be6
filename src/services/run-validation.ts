// mlflow/utils/validation.py for runs: names of metrics, params and tags, length limits (with
// MLFLOW_TRUNCATE_LONG_VALUES), run ids, batch limits, dataset inputs. Messages are MLflow's.
import { MlflowError } from "../errors";
import { pyFloatRepr, pyJson, pyLen, pyRepr } from "../python/builtins";
import { normpath } from "../python/urllib";
import type { LoggedMetric } from "../store/metrics";

const invalid = MlflowError.invalid;


export interface KeyValue {
  key: string;
  value: string;
}

/** invalid_value(path, value, message) */
export function invalidValue(path: string, value: unknown, message?: string): string {
  const formatted = pyJson(value);
  return message ? `Invalid value ${formatted} for parameter '${path}' supplied: ${message}` : `Invalid value ${formatted} for parameter '${path}' supplied.`;
}

export const exceedsMaximumLength = (path: string, limit: number) => `'${path}' exceeds the maximum length of ${limit} characters`;

/** append_to_json_path */
const at = (path: string, name: string) => (path ? `${path}.${name}` : name);

// validate_param_and_metric_name (POSIX): Python's \w is Unicode letters, digits and "_".
const NAME = /^[/\p{L}\p{N}_.\- :]*$/u;
const BAD_CHARACTERS = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).";

/** _validate_metric_name / _validate_param_name / _validate_tag_name (one rule, three callers). */
function validateName(name: string, path: string): void {
  if (!NAME.test(name)) throw invalid(invalidValue(path, name, BAD_CHARACTERS));
  const norm = normpath(name);
  if (norm !== name || norm === "." || norm.startsWith("..") || norm.startsWith("/")) {
    const message =
      "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. " +
      `This name would resolve to ${pyRepr(norm)}`;
    throw invalid(invalidValue(path, name, message));
  }
}

/** MLFLOW_TRUNCATE_LONG_VALUES (a boolean environment variable, true by default). */
function truncateLongValues(): boolean {
  const raw = process.env.MLFLOW_TRUNCATE_LONG_VALUES;
  if (raw === undefined) return true;
  return !["false", "0"].includes(raw.toLowerCase());
}

/** _validate_length_limit: too long is an error, or (truncate=True) cut to the limit. */
function lengthLimit(entity: string, limit: number, value: string, truncate = false): string {
  if (pyLen(value) <= limit) return value;
  if (truncate && truncateLongValues()) return [...value].slice(0, limit).join("");
  throw invalid(exceedsMaximumLength(entity, limit));
}

/** _validate_metric (the value is always a float and the step a number once parsed). */
export function validateMetric(m: LoggedMetric, path: string): void {
  validateName(m.key, at(path, "name"));
  if (m.timestamp < 0) {
    const message = `metric '${m.key}' (value=${pyFloatRepr(m.value)}). Timestamp must be a nonnegative long (64-bit integer) `;
    throw invalid(invalidValue(at(path, "timestamp"), m.timestamp, message));
  }
  lengthLimit("Metric name", 250, m.key);
}

/** _validate_param: the key checked, the value truncated to 6000 characters. */
export function validateParam(p: KeyValue, path = ""): KeyValue {
  validateName(p.key, at(path, "key"));
  return { key: lengthLimit("Param key", 250, p.key), value: lengthLimit("Param value", 6000, p.value, true) };
}

/** _validate_tag: the key checked, the value truncated to 8000 characters. */
export function validateTag(t: KeyValue, path = ""): KeyValue {
  validateName(t.key, at(path, "key"));
  return { key: lengthLimit(at(path, "key"), 250, t.key), value: lengthLimit(at(path, "value"), 8000, t.value, true) };
}

// Python's \w again: a letter or digit first, then up to 255 word characters or dashes.
const RUN_ID = /^[a-zA-Z0-9][\p{L}\p{N}_\-]{0,255}$/u;

/** _validate_run_id */
export function validateRunId(runId: string): void {
  if (!RUN_ID.test(runId)) throw invalid(invalidValue("run_id", runId));
}

function batchLimit(entity: string, limit: number, length: number): void {
  if (length > limit) {
    throw invalid(
      `A batch logging request can contain at most ${limit} ${entity}. Got ${length} ${entity}. ` +
        `Please split up ${entity} across multiple requests and try again.`,
    );
  }
}

/**
 * SqlAlchemyStore.log_batch's checks, in its order: every metric, then every param and tag
 * (returned validated and truncated), the batch limits, unique param keys.
 */
export function validateBatch(metrics: LoggedMetric[], params: KeyValue[], tags: KeyValue[]): { params: KeyValue[]; tags: KeyValue[] } {
  metrics.forEach((m, i) => validateMetric(m, `metrics[${i}]`));
  const checkedParams = params.map((p, i) => validateParam(p, `params[${i}]`));
  const checkedTags = tags.map((t, i) => validateTag(t, `tags[${i}]`));
  batchLimit("metrics", 1000, metrics.length);
  batchLimit("params", 100, checkedParams.length);
  batchLimit("tags", 100, checkedTags.length);
  batchLimit("metrics, params, and tags", 1000, metrics.length + checkedParams.length + checkedTags.length);
  // _validate_param_keys_unique: every repeat of a key is listed
  const seen = new Set<string>();
  const dupes: string[] = [];
  for (const p of checkedParams) {
    if (seen.has(p.key)) dupes.push(p.key);
    seen.add(p.key);
  }
  if (dupes.length) {
    throw invalid(
      `Duplicate parameter keys have been submitted: ${pyRepr(dupes)}. Please ensure the request contains only one param value per param key.`,
    );
  }
  return { params: checkedParams, tags: checkedTags };
}

export interface DatasetInputIn {
  dataset: { name: string; digest: string; source_type: string; source: string; schema?: string; profile?: string };
  tags: KeyValue[];
}

/** _validate_dataset_inputs: each dataset's sizes, then its tags'. */
export function validateDatasetInputs(inputs: DatasetInputIn[]): void {
  const limit = (name: string, value: string | undefined, max: number) => {
    if (value !== undefined && pyLen(value) > max) throw invalid(exceedsMaximumLength(name, max));
  };
  for (const { dataset, tags } of inputs) {
    limit("name", dataset.name, 500);
    limit("digest", dataset.digest, 36);
    limit("source", dataset.source, 65535);
    limit("schema", dataset.schema, 1048575);
    limit("profile", dataset.profile, 16777215);
    for (const tag of tags) {
      limit("key", tag.key, 255);
      limit("value", tag.value, 500);
    }
  }
}
