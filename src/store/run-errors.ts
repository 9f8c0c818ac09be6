// The database errors MLflow's run writes let through (as BAD_REQUEST with str() of SQLAlchemy's
// error), rebuilt where they are reachable from the REST API: PostgreSQL's VARCHAR limits (MLflow
// validates lengths only for some columns), duplicate or missing keys, and an empty experiment id
// that the ORM inserts as is. The driver texts are sqlite3's and psycopg2's.
import { MlflowError } from "../errors";
import { pyLen } from "../python/builtins";
import type { Dialect } from "./db";
import { Float, type Param, reprMany, reprParams, sqlalchemyError } from "./sqlalchemy-errors";

/** The ORM flushed while a query ran (create_run's inputs query, update_run_info's tag query). */
export const AUTOFLUSH =
  "(raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is occurring prematurely)\n";

const truncation = (limit: number) => `(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(${limit})\n`;

/** BAD_REQUEST with SQLAlchemy's text for a statement. */
export function dbError(driver: string, statement: [string, string], code: "gkpj" | "9h9h", prefix = ""): MlflowError {
  return new MlflowError(prefix + sqlalchemyError(driver, statement, code), "BAD_REQUEST");
}

/** The first value over its column's VARCHAR limit, on PostgreSQL (SQLite does not enforce them). */
export function overflow(dialect: Dialect, checks: [value: string | null | undefined, limit: number][]): string | undefined {
  if (dialect !== "postgres") return undefined;
  const hit = checks.find(([v, limit]) => v != null && pyLen(v) > limit);
  return hit ? truncation(hit[1]) : undefined;
}

/**
 * An INSERT as SQLAlchemy renders it: one row (execute) or many (executemany on sqlite3,
 * insertmanyvalues on psycopg2). `returning` is the RETURNING clause for one row and for many
 * (tables with server defaults; PostgreSQL only here).
 */
export function insertStatement(
  dialect: Dialect, table: string, columns: string[], rows: Param[][], returning?: { one: string; many: string },
): [string, string] {
  const quoted = columns.map((c) => (dialect === "sqlite" && c === "key" ? '"key"' : c)).join(", ");
  if (dialect === "sqlite") {
    const statement = `INSERT INTO ${table} (${quoted}) VALUES (${columns.map(() => "?").join(", ")})`;
    return [statement, rows.length === 1 ? reprParams(rows[0]!) : reprMany(rows)];
  }
  if (rows.length === 1) {
    const statement = `INSERT INTO ${table} (${quoted}) VALUES (${columns.map((c) => `%(${c})s`).join(", ")})${returning ? ` ${returning.one}` : ""}`;
    return [statement, reprParams(columns.map((c, i) => [c, rows[0]![i]!] as [string, Param]))];
  }
  const values = rows.map((_, r) => `(${columns.map((c) => `%(${c}__${r})s`).join(", ")})`).join(", ");
  // psycopg2's dict; MLflow's own key order varies from process to process
  return [longStatement(`INSERT INTO ${table} (${quoted}) VALUES ${values}${returning ? ` ${returning.many}` : ""}`), reprParams(rows.flatMap((row, r) => columns.map((c, i) => [`${c}__${r}`, row[i]!] as [string, Param])))];
}

/** sqlalchemy.sql.util._long_statement: an insertmanyvalues batch's SQL over 500 characters is cut. */
function longStatement(statement: string): string {
  if (statement.length <= 500) return statement;
  return `${statement.slice(0, 250)} ... ${statement.length - 350} characters truncated ... ${statement.slice(-100)}`;
}

/** UPDATE runs SET <changed columns> WHERE runs.run_uuid = ... (only PostgreSQL ever fails it). */
export function updateRunStatement(changes: [string, Param][], runId: string): [string, string] {
  const sets = changes.map(([c]) => `${c}=%(${c})s`).join(", ");
  return [`UPDATE runs SET ${sets} WHERE runs.run_uuid = %(runs_run_uuid)s`, reprParams([...changes, ["runs_run_uuid", runId]])];
}

/** The unique-key violation of a child table's primary key. */
export function uniqueViolation(dialect: Dialect, table: string, constraint: string, columns: string[], values: string[]): string {
  if (dialect === "sqlite") return `(sqlite3.IntegrityError) UNIQUE constraint failed: ${columns.map((c) => `${table}.${c}`).join(", ")}`;
  return (
    `(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "${constraint}"\n` +
    `DETAIL:  Key (${columns.join(", ")})=(${values.join(", ")}) already exists.\n`
  );
}

/** A row of runs as create_run inserts it (psycopg2 binds the experiment id as the string given). */
export const RUN_COLUMNS = [
  "run_uuid", "name", "source_type", "source_name", "entry_point_name", "user_id", "status", "start_time", "end_time",
  "deleted_time", "source_version", "lifecycle_stage", "artifact_uri", "experiment_id",
];

/**
 * An empty experiment id reaches the INSERT as ''. sqlite3 stores it and the foreign key fails;
 * psycopg2 interpolates it and PostgreSQL refuses the literal, which libpq reports with the line
 * around the error (reportErrorPosition: the last 60 characters here, the cursor under the '').
 */
export function emptyExperimentId(dialect: Dialect, row: Param[]): string {
  if (dialect === "sqlite") return "(sqlite3.IntegrityError) FOREIGN KEY constraint failed";
  const literal = (v: Param) => (v === null ? "NULL" : typeof v === "string" ? `'${v.replace(/'/g, "''")}'` : v instanceof Float ? String(v.value) : String(v));
  const line = `INSERT INTO runs (${RUN_COLUMNS.join(", ")}) VALUES (${row.map(literal).join(", ")})`;
  const chars = [...line];
  const cursor = chars.length - 3; // the '' before the closing parenthesis
  const begin = Math.max(0, chars.length - 60);
  const prefix = `LINE 1: ${begin > 0 ? "..." : ""}`;
  return (
    '(psycopg2.errors.InvalidTextRepresentation) invalid input syntax for type integer: ""\n' +
    `${prefix}${chars.slice(begin).join("")}\n${" ".repeat(prefix.length + cursor - begin)}^\n`
  );
}
