// The model registry's shared rules: utils/validation.py's checks for model names, versions,
// tags and aliases (MLflow's messages, word for word), the handlers' max_results bounds, and the
// Flask 500 page a Python exception in a handler becomes. The handlers are in
// registered-models.ts and model-versions.ts; registryService puts them together.
import type { Config } from "../config";
import { MlflowError } from "../errors";
import { PyError, pyInt, pyJson, pyLen, pyStrip, pyStrRepr, pyTypeName } from "../python/builtins";
import { normpath } from "../python/urllib";
import type { Stores } from "../store";
import { modelVersionsService } from "./model-versions";
import { registeredModelsService } from "./registered-models";
import { flaskInternalServerError } from "./flask";

const invalid = MlflowError.invalid;

export function registryService(stores: Stores, config: Config) {
  return { ...registeredModelsService(stores), ...modelVersionsService(stores, config) };
}

// ---- utils/validation.py ------------------------------------------------------------------------

/** invalid_value: the value as json.dumps(sort_keys=True, separators=(",", ":")) prints it. */
export const invalidValue = (path: string, value: unknown, message: string) => `Invalid value ${pyJson(value)} for parameter '${path}' supplied: ${message}`;
const exceedsMaximumLength = (path: string, limit: number) => invalid(`'${path}' exceeds the maximum length of ${limit} characters`);

/** path_not_unique */
function pathNotUnique(name: string): boolean {
  const norm = normpath(name);
  return norm !== name || norm === "." || norm.startsWith("..") || norm.startsWith("/");
}

const badPathMessage = (name: string) =>
  "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. " +
  `This name would resolve to ${pyStrRepr(normpath(name))}`;

/** _validate_model_name */
export function validateModelName(name: string): void {
  if (!pyStrip(name)) throw invalid("Missing value for required parameter 'name'.");
  if (name.includes("/") || name.includes(":")) throw invalid(`Invalid model name '${name}'. Names cannot contain '/' or ':'.`);
  if (pathNotUnique(name)) throw invalid(invalidValue("name", name, badPathMessage(name)));
}

/** _validate_model_renaming */
export function validateModelRenaming(newName: string): void {
  if (!pyStrip(newName)) throw invalid("Missing value for required parameter 'new_name'.");
  validateModelName(newName);
}

/** _validate_model_version: int() of the string. */
export function parseVersion(version: string): bigint {
  const n = pyInt(version);
  if (n === undefined) throw invalid(`Parameter 'version' must be an integer, got '${version}'.`);
  return n;
}

/** _validate_tag_name (validate_param_and_metric_name's characters, path_not_unique). */
export function validateTagName(key: string): void {
  if (!/^[/\p{L}\p{N}_.\- :]*$/u.test(key)) {
    throw invalid(
      invalidValue("key", key, "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."),
    );
  }
  if (pathNotUnique(key)) throw invalid(invalidValue("key", key, badPathMessage(key)));
}

const TAG_KEY_LIMIT = 250;
const TAG_VALUE_LIMIT = 100_000;
export const PROMPT_TEXT_TAG_KEY = "mlflow.prompt.text";

/** _validate_registered_model_tag */
export function validateRegisteredModelTag(key: string, value: string): void {
  validateTagName(key);
  if (pyLen(key) > TAG_KEY_LIMIT) throw exceedsMaximumLength("key", TAG_KEY_LIMIT);
  if (pyLen(value) > TAG_VALUE_LIMIT) throw exceedsMaximumLength("value", TAG_VALUE_LIMIT);
}

/** _validate_model_version_tag */
export function validateModelVersionTag(key: string, value: string): void {
  validateTagName(key);
  if (pyLen(key) > TAG_KEY_LIMIT) throw exceedsMaximumLength("key", TAG_KEY_LIMIT);
  if (key === PROMPT_TEXT_TAG_KEY && pyLen(value) > TAG_VALUE_LIMIT) throw invalid(`Prompt text exceeds max length of ${TAG_VALUE_LIMIT} characters.`);
  if (pyLen(value) > TAG_VALUE_LIMIT) throw exceedsMaximumLength("value", TAG_VALUE_LIMIT);
}

/** _validate_alias_name */
export function validateAliasName(alias: string): void {
  if (alias === "") throw invalid("Registered model alias name cannot be empty.");
  if (!/^[\p{L}\p{N}_-]*$/u.test(alias)) {
    throw invalid(`Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`);
  }
  if (pyLen(alias) > 255) throw exceedsMaximumLength("Registered model alias name", 255);
}

/** _validate_alias_name_reserved */
export function validateAliasNameReserved(alias: string): void {
  if (alias.toLowerCase() === "latest") throw invalid("'latest' alias name (case insensitive) is reserved.");
  if (/^[vV]\p{Nd}+$/u.test(alias)) throw invalid(`Version alias name '${alias}' is reserved.`);
}

// ---- handlers.py --------------------------------------------------------------------------------

/**
 * `lambda x: _assert_less_than_or_equal(int(x), max)`: runs even when the proto parsed (it is not
 * a type check). int() failing is a Python exception in the handler (Flask's 500 page).
 */
export function atMost(max: number, param: string) {
  return (value: unknown): string | undefined => {
    let n: bigint;
    if (typeof value === "number") n = BigInt(Math.trunc(value));
    else if (typeof value === "boolean") n = value ? 1n : 0n;
    else if (typeof value === "string") {
      const parsed = pyInt(value);
      if (parsed === undefined) throw new PyError("ValueError", `invalid literal for int() with base 10: ${pyStrRepr(value)}`);
      n = parsed;
    } else throw new PyError("TypeError", "int() argument must be a string, a bytes-like object or a real number");
    if (n <= BigInt(max)) return undefined;
    return `Invalid value ${pyJson(value)} for parameter '${param}' supplied:  Hint: Value was of type '${pyTypeName(value)}'.`;
  };
}

/** Runs a handler; a Python exception (PyError) becomes Flask's 500 page, as in MLflow. */
export async function pythonHandler<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof PyError) return flaskInternalServerError() as never;
    throw e;
  }
}
