// The per-handler request schemas of handlers.py (`schema={"name": [_assert_required, ...]}`),
// checked with MLflow's rules and messages (_validate_param_against_schema).
import { MlflowError } from "../errors";
import { pyJson, pyTypeName } from "../python/builtins";
import type { RequestContext } from "./context";

export type Check = "required" | "string" | "intlike" | "bool" | "floatlike" | "array" | "dict" | "itemsString" | ((value: unknown) => string | undefined);
export type Schema = Record<string, readonly Check[]>;

const TYPE_CHECKS = new Set<Check>(["string", "intlike", "bool", "floatlike", "array", "itemsString"]);

function passes(check: Check, value: unknown): boolean | string {
  switch (check) {
    case "required": return value !== undefined && value !== null && value !== "";
    case "string": return typeof value === "string";
    case "bool": return typeof value === "boolean";
    case "array": return Array.isArray(value);
    case "dict": return typeof value === "object" && value !== null && !Array.isArray(value);
    case "itemsString": return Array.isArray(value) && value.every((v) => typeof v === "string");
    case "intlike": // Python's int(x) must succeed: numbers (floats truncate), bools, integer strings
      return (typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean" || (typeof value === "string" && /^\s*[-+]?\d+(_\d+)*\s*$/.test(value));
    case "floatlike": // Python's float(x) must succeed
      return typeof value === "number" || typeof value === "boolean" || (typeof value === "string" && /^\s*[-+]?(\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?|nan|inf|infinity)\s*$/i.test(value));
    default: {
      const message = check(value);
      return message === undefined ? true : message;
    }
  }
}

/** Raises MLflow's INVALID_PARAMETER_VALUE for the first failed check, as handlers.py does. */
export function validate(schema: Schema, ctx: RequestContext): void {
  const json = ctx.json;
  for (const [key, checks] of Object.entries(schema)) {
    if (!(key in json) && !checks.includes("required")) continue;
    let value = json[key];
    if (key === "run_id" && (value === undefined || value === null) && "run_uuid" in json) value = json.run_uuid;
    for (const check of checks) {
      if (TYPE_CHECKS.has(check) && ctx.parsed) continue;
      const ok = passes(check, value);
      if (ok === true) continue;
      const message =
        typeof ok === "string" ? ok
        : check === "required" ? `Missing value for required parameter '${key}'.`
        : `Invalid value ${pyJson(value)} for parameter '${key}' supplied:  Hint: Value was of type '${pyTypeName(value)}'.`;
      throw MlflowError.invalid(`${message} See the API docs for more information about request parameters.`);
    }
  }
}
