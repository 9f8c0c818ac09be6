// MLflow's error model (mlflow/exceptions.py): an error code name, a message, and the HTTP
// status the code maps to. Every layer throws MlflowError; the server turns it into
// {"error_code": ..., "message": ...}.

export type ErrorCode =
  | "INTERNAL_ERROR" | "TEMPORARILY_UNAVAILABLE" | "BAD_REQUEST" | "NOT_FOUND" | "ALREADY_EXISTS"
  | "UNAUTHENTICATED" | "INVALID_PARAMETER_VALUE" | "ENDPOINT_NOT_FOUND" | "MALFORMED_REQUEST"
  | "INVALID_STATE" | "PERMISSION_DENIED" | "FEATURE_DISABLED" | "RESOURCE_CONFLICT"
  | "NOT_IMPLEMENTED" | "RESOURCE_ALREADY_EXISTS" | "RESOURCE_DOES_NOT_EXIST" | "ABORTED"
  | "CUSTOMER_UNAUTHORIZED" | "REQUEST_LIMIT_EXCEEDED" | "RESOURCE_EXHAUSTED" | "CANCELLED"
  | "DATA_LOSS" | "DEADLINE_EXCEEDED";

/** ERROR_CODE_TO_HTTP_STATUS; codes not listed are 500. */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  UNAUTHENTICATED: 401,
  CUSTOMER_UNAUTHORIZED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_DOES_NOT_EXIST: 404,
  ABORTED: 409,
  RESOURCE_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL_ERROR: 500,
  INVALID_STATE: 500,
  DATA_LOSS: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/**
 * mlflow/error_classification.py: error_class and sqlstate, derived from the code with the
 * client tables (the server raises plain MlflowExceptions, which derive them that way).
 */
const ERROR_CLASS: Partial<Record<ErrorCode, [errorClass: string, sqlstate: string]>> = {
  BAD_REQUEST: ["INVALID_PARAMETER_VALUE", "KAM00"],
  CUSTOMER_UNAUTHORIZED: ["PERMISSION_DENIED", "KAM00"],
  ENDPOINT_NOT_FOUND: ["RESOURCE_NOT_FOUND", "KAM00"],
  FEATURE_DISABLED: ["FEATURE_DISABLED", "KAM00"],
  INTERNAL_ERROR: ["CLIENT_INTERNAL_ERROR", "XXM00"],
  INVALID_PARAMETER_VALUE: ["INVALID_PARAMETER_VALUE", "KAM00"],
  INVALID_STATE: ["CLIENT_INTERNAL_ERROR", "XXM00"],
  NOT_FOUND: ["RESOURCE_NOT_FOUND", "KAM00"],
  PERMISSION_DENIED: ["PERMISSION_DENIED", "KAM00"],
  RESOURCE_ALREADY_EXISTS: ["RESOURCE_ALREADY_EXISTS", "KAM00"],
  RESOURCE_DOES_NOT_EXIST: ["RESOURCE_NOT_FOUND", "KAM00"],
  TEMPORARILY_UNAVAILABLE: ["CLIENT_INTERNAL_ERROR", "XXM00"],
};

export class MlflowError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode = "INTERNAL_ERROR",
  ) {
    super(message);
  }

  get status(): number {
    return HTTP_STATUS[this.code] ?? 500;
  }

  /** MLflow's serialize_as_json: error_code, message, then sqlstate and error_class when known. */
  toJSON(): Record<string, string> {
    const body: Record<string, string> = { error_code: this.code, message: this.message };
    const classified = ERROR_CLASS[this.code];
    if (classified) {
      body.sqlstate = classified[1];
      body.error_class = classified[0];
    }
    return body;
  }

  static invalid(message: string): MlflowError {
    return new MlflowError(message, "INVALID_PARAMETER_VALUE");
  }

  static notFound(message: string): MlflowError {
    return new MlflowError(message, "RESOURCE_DOES_NOT_EXIST");
  }
}
