// The one JSON writer. Messages are emitted as MLflow's message_to_json emits them:
// snake_case names, int64 as numbers, enums by name, unset fields absent, and NaN/±Infinity
// doubles as the strings protobuf's JSON printer uses.
import { MlflowError } from "../errors";

const HEADERS = { "content-type": "application/json" };

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  return value;
}

/**
 * JSON.stringify writes non-finite numbers as null. Without a replacer it is 3× faster (20 →
 * 6 ms for 25k metric values), so the replacer runs only for a text that has a null in it
 * (rare: a NaN or infinite value, an explicit null, a string containing "null").
 */
function stringify(body: unknown): string {
  const text = JSON.stringify(body);
  return text.includes("null") ? JSON.stringify(body, replacer) : text;
}

export function json(body: unknown, status = 200): Response {
  return new Response(stringify(body), { status, headers: HEADERS });
}

/** {"error_code", "message", "sqlstate", "error_class"} with the code's HTTP status (catch_mlflow_exception). */
export function errorResponse(error: MlflowError): Response {
  return json(error.toJSON(), error.status);
}

/** Anything that is not an MlflowError is a bug: answered as MLflow answers INTERNAL_ERROR. */
export function toMlflowError(error: unknown): MlflowError {
  if (error instanceof MlflowError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new MlflowError(message, "INTERNAL_ERROR");
}
