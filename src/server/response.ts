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

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, replacer), { status, headers: HEADERS });
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
