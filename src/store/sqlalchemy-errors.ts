// MLflow puts str() of SQLAlchemy's DBAPIError in some messages: the DB-API driver's error,
// then the statement SQLAlchemy ran and its parameters (sqlalchemy/exc.py, sql/util.py's
// _repr_params), for the driver MLflow uses on each dialect (sqlite3, psycopg2). The stores
// rebuild them from the values; these are the shared pieces.
import { MlflowError } from "../errors";
import { pyFloatRepr, pyStrRepr } from "../python/builtins";

/** A Python float parameter (printed 1.0, not 1). */
export class Float {
  constructor(readonly value: number) {}
}

/** A bound parameter as Python holds it: str, int (a number), float, None (null). */
export type Param = string | number | null | Float;

/** _repr_base.trunc: repr() cut to 300 characters around the middle. */
function trunc(v: Param): string {
  const rep = typeof v === "string" ? pyStrRepr(v) : v === null ? "None" : v instanceof Float ? pyFloatRepr(v.value) : String(v);
  const chars = [...rep];
  if (chars.length <= 300) return rep;
  return `${chars.slice(0, 150).join("")} ... (${chars.length - 300} characters truncated) ... ${chars.slice(-150).join("")}`;
}

/** _repr_params of one parameter set: a tuple (sqlite3) or a dict (psycopg2), max 100 shown. */
export function reprParams(params: Param[] | [string, Param][]): string {
  const items = (params as unknown[]).map((p) => (Array.isArray(p) ? `${pyStrRepr(p[0] as string)}: ${trunc(p[1] as Param)}` : trunc(p as Param)));
  const [open, close] = Array.isArray(params[0]) ? ["{", "}"] : ["(", ")"];
  if (items.length > 100) return `${open}${items.slice(0, 50).join(", ")} ... ${items.length - 100} parameters truncated ... ${items.slice(-50).join(", ")}${close}`;
  return `${open}${items.join(", ")}${items.length === 1 && open === "(" ? "," : ""}${close}`;
}

/** executemany's parameter sets: at most 10 shown. */
export function reprMany(sets: Param[][]): string {
  if (sets.length <= 10) return `[${sets.map(reprParams).join(", ")}]`;
  const head = `[${sets.slice(0, 8).map(reprParams).join(", ")}]`.slice(0, -1);
  const tail = `[${sets.slice(-2).map(reprParams).join(", ")}]`.slice(1);
  return [head, ` ... displaying 10 of ${sets.length} total bound parameter sets ... `, tail].join(" ");
}

/** str() of SQLAlchemy's DBAPIError: the driver's error, the statement, its parameters. */
export function sqlalchemyError(driver: string, [statement, params]: [string, string], code: "gkpj" | "9h9h"): string {
  return `${driver}\n[SQL: ${statement}]\n[parameters: ${params}]\n(Background on this error at: https://sqlalche.me/e/21/${code})`;
}

// ---- OperationalError: MLflow's 503 -----------------------------------------------------------
// MLflow's session wrapper (store/db/utils.py, _get_managed_session_maker) answers
// sqlalchemy.exc.OperationalError with 503 TEMPORARILY_UNAVAILABLE and every other SQLAlchemy
// error with 400 BAD_REQUEST. Which errors are OperationalErrors is the DB-API driver's choice:
// libpq's connection failures and psycopg2's exception_from_sqlstate, sqlite3's _pysqlite_seterror.

// postgres.js / Bun socket codes: the connection could not be made, or was lost.
const PG_CONNECTION_LOST = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN",
  "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT",
]);

/** The connection is gone (a socket error, or the server ending the session): nothing more can be sent on it. */
export function pgConnectionLost(e: any): boolean {
  const code = e?.code;
  return typeof code === "string" && (PG_CONNECTION_LOST.has(code) || code.startsWith("57P0"));
}

/** psycopg2's SQLSTATE classes raised as OperationalError or a subclass (DeadlockDetected, AdminShutdown, QueryCanceled...). */
const PG_OPERATIONAL = /^(08|26|27|28|34|40|5[3-8]|HV)/;

const BACKGROUND = "(Background on this error at: https://sqlalche.me/e/21/e3q8)";
const SERVER_CLOSED =
  "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\n";
const SHUTDOWN_CLASS: Record<string, string> = { "57P01": "AdminShutdown", "57P02": "CrashShutdown" };

/**
 * The text of a connection that could not be made, as MLflow's pre-pinged pool meets an outage on
 * checkout: libpq's message, SQLAlchemy's class prefix and link (no [SQL: ...], nothing ran).
 */
function connectFailure(e: any, url: URL): string {
  const host = url.hostname.replace(/^\[|\]$/g, "") || "localhost";
  const address: string | undefined = e?.address;
  const target = address && address !== host ? `"${host}" (${address})` : `"${host}"`;
  const why =
    e?.code === "ECONNREFUSED" ? "Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\n"
    : e?.code === "CONNECT_TIMEOUT" ? "timeout expired\n"
    : `${e?.severity ?? "FATAL"}:  ${e?.message}\n`;
  return `(psycopg2.OperationalError) connection to server at ${target}, port ${e?.port ?? (url.port || 5432)} failed: ${why}\n${BACKGROUND}`;
}

/** A postgres.js error as MLflow answers it: 503 for what psycopg2 raises as OperationalError, else 400. */
export function pgError(e: any, url: URL): MlflowError {
  if (e instanceof MlflowError) return e;
  const code: string | undefined = typeof e?.code === "string" ? e.code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  if (code === "ECONNREFUSED" || code === "CONNECT_TIMEOUT" || code === "57P03") return unavailable(connectFailure(e, url));
  if (code && SHUTDOWN_CLASS[code]) return unavailable(`(psycopg2.errors.${SHUTDOWN_CLASS[code]}) ${message}\n${SERVER_CLOSED}\n${BACKGROUND}`);
  if (code && PG_CONNECTION_LOST.has(code)) return unavailable(`(psycopg2.OperationalError) ${SERVER_CLOSED}\n${BACKGROUND}`);
  if (code && /^[0-9A-Z]{5}$/.test(code) && PG_OPERATIONAL.test(code)) return unavailable(message);
  return new MlflowError(message, "BAD_REQUEST");
}

/** sqlite3's OperationalError result codes (extended codes such as SQLITE_BUSY_SNAPSHOT too). */
const SQLITE_OPERATIONAL = /^SQLITE_(ERROR|PERM|ABORT|BUSY|LOCKED|READONLY|INTERRUPT|IOERR|FULL|CANTOPEN|PROTOCOL|EMPTY|SCHEMA)(_|$)/;

/** Another connection holds the lock: worth waiting for, up to busy_timeout. */
export function sqliteBusy(e: any): boolean {
  return typeof e?.code === "string" && /^SQLITE_(BUSY|LOCKED)(_|$)/.test(e.code);
}

/** A bun:sqlite error as MLflow answers it: 503 for what sqlite3 raises as OperationalError, else 400. */
export function sqliteError(e: any): MlflowError {
  if (e instanceof MlflowError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return typeof e?.code === "string" && SQLITE_OPERATIONAL.test(e.code) ? unavailable(message) : new MlflowError(message, "BAD_REQUEST");
}

const unavailable = (message: string) => new MlflowError(message, "TEMPORARILY_UNAVAILABLE");
