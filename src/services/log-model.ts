// handlers.py _log_model and SqlAlchemyStore.record_logged_model: the model JSON is read as
// Model.from_dict reads it, reduced to Model.get_tags_dict(), and appended to the JSON list in
// the run's mlflow.log-model.history tag (json.dumps with Python's defaults).
import { MlflowError } from "../errors";
import { jsonLoads, PyDict, PyError, pyJsonDumps, pyStr, pyStrRepr, pyType, type PyValue } from "../python/builtins";

const MANDATORY = ["artifact_path", "flavors", "utc_time_created", "run_id"];

/** The model_json checks of _log_model; PyError where Python fails outside MLflow's handling. */
export function parseModelJson(modelJson: string): PyDict {
  const model = jsonLoads(new TextEncoder().encode(modelJson));
  if (model === undefined) throw MlflowError.invalid(`Malformed model info. \n ${modelJson} \n is not a valid JSON.`);
  if (!(model instanceof PyDict)) throw new PyError("AttributeError", `'${typeof model}' object has no attribute 'keys'`);
  // a Python set: its order varies from process to process; this is the order MLflow lists them
  const missing = MANDATORY.filter((k) => model.get(k) === undefined);
  if (missing.length) throw MlflowError.invalid(`Model json is missing mandatory fields: {${missing.map(pyStrRepr).join(", ")}}`);
  checkSignature(model.get("signature") ?? null);
  return model;
}

/**
 * Model.from_dict reads a signature dict with ModelSignature.from_dict, and to_dict calls
 * to_dict() on any other non-null value: both fail outside MLflow's handling. The JSON schemas
 * inside are only checked to be JSON (their full validation is not ported).
 */
function checkSignature(signature: PyValue): void {
  if (signature === null) return;
  if (!(signature instanceof PyDict)) throw new PyError("AttributeError", "object has no attribute 'to_dict'");
  const parts = ["inputs", "outputs", "params"].map((k) => signature.get(k) ?? null).filter(truthy);
  if (parts.length === 0) throw new PyError("ValueError", "At least one of inputs, outputs or params must be provided");
  for (const part of parts) {
    if (typeof part !== "string" || jsonLoads(new TextEncoder().encode(part)) === undefined) throw new PyError("ValueError", "Expecting value");
  }
}

/**
 * Model.from_dict(model).get_tags_dict(): run_id and artifact_path (left out when null),
 * utc_time_created (str() of it, or the current UTC time when falsy), model_uuid, then the
 * flavors without their "config" entries.
 */
export function modelTagsDict(model: PyDict, now = new Date()): PyDict {
  const value = (k: string) => model.get(k) ?? null;
  const entries: [PyValue, PyValue][] = [];
  if (value("run_id") !== null) entries.push(["run_id", value("run_id")]);
  if (value("artifact_path") !== null) entries.push(["artifact_path", value("artifact_path")]);
  const created = value("utc_time_created");
  entries.push(["utc_time_created", truthy(created) ? pyStr(created) : pythonUtcNow(now)]);
  entries.push(["model_uuid", value("model_uuid")]);
  const flavors = value("flavors") ?? new PyDict([]);
  if (!(flavors instanceof PyDict)) throw new PyError("AttributeError", "'flavors' object has no attribute 'items'");
  const withoutConfig = flavors.entries.map(([name, config]): [PyValue, PyValue] => [
    name,
    config instanceof PyDict ? new PyDict(config.entries.filter(([k]) => k !== "config")) : config,
  ]);
  entries.push(["flavors", new PyDict(withoutConfig)]);
  return new PyDict(entries);
}

/**
 * The tag's next value: the previous JSON list plus this model. record_logged_model computes it
 * inside its session, where any Python error becomes INTERNAL_ERROR with str() of it.
 */
export function appendToHistory(previous: string | null | undefined, model: PyDict): string {
  let history: PyValue[] = [];
  if (previous !== undefined) {
    const internal = (message: string) => new MlflowError(message, "INTERNAL_ERROR");
    if (previous === null) throw internal("the JSON object must be str, bytes or bytearray, not NoneType");
    const parsed = jsonLoads(new TextEncoder().encode(previous));
    // json.JSONDecodeError's position is only reproduced for a value that cannot start
    if (parsed === undefined) throw internal("Expecting value: line 1 column 1 (char 0)");
    if (typeof parsed === "string") throw internal('can only concatenate str (not "list") to str');
    if (!Array.isArray(parsed)) throw internal(`unsupported operand type(s) for +: '${pyType(parsed)}' and 'list'`);
    history = parsed;
  }
  return pyJsonDumps([...history, model]);
}

function truthy(v: PyValue): boolean {
  if (v === null || v === false || v === 0n || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyDict) return v.entries.length > 0;
  return true;
}

/** str(datetime.now(timezone.utc).replace(tzinfo=None)): microseconds only when non-zero. */
function pythonUtcNow(now: Date): string {
  const iso = now.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const micros = now.getUTCMilliseconds() * 1000;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${micros ? `.${String(micros).padStart(6, "0")}` : ""}`;
}
