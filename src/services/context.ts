// What a service method receives besides its parsed request message.

export interface RequestContext {
  /**
   * The request as handlers.py sees it before proto parsing: the JSON body, or for a GET with
   * a query string, the proto fields taken from it. Handler schemas validate this.
   */
  json: Record<string, unknown>;
  /** False when MLflow's parse_dict would have raised; the type checks then run on `json`. */
  parsed: boolean;
  request: Request;
  /**
   * The body as Flask's get_json(force=True, silent=True) returns it, before the double-encoding
   * fix-up: undefined for a missing or malformed body (Python's None). Unset for GET queries.
   */
  body?: unknown;
}

const PRESENT = Symbol.for("mlflow-bun.present");

/** Parsed messages carry defaults for unset fields; this is protobuf's HasField. */
export function has(message: object, field: string): boolean {
  const present = (message as Record<symbol, Set<string> | undefined>)[PRESENT];
  return present ? present.has(field) : field in message;
}

/** Records which fields the request actually set (called by the parser before defaults). */
export function markPresent(message: object): void {
  Object.defineProperty(message, PRESENT, { value: new Set(Object.keys(message)), enumerable: false });
}
