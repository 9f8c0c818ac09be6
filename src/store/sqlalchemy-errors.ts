// MLflow puts str() of SQLAlchemy's DBAPIError in some messages: the DB-API driver's error,
// then the statement SQLAlchemy ran and its parameters (sqlalchemy/exc.py, sql/util.py's
// _repr_params), for the driver MLflow uses on each dialect (sqlite3, psycopg2). The stores
// rebuild them from the values; these are the shared pieces.
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
