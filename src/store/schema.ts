// The database schema is MLflow's alembic head. On an empty database we create it from the
// DDL that MLflow's own migrations produced (src/generated/schema/, dumped by codegen) and
// stamp the head, as MLflow's store does; on any other database we only verify the head.
import postgresDdl from "../generated/schema/postgres.sql" with { type: "text" };
import sqliteDdl from "../generated/schema/sqlite.sql" with { type: "text" };
import { ALEMBIC_HEAD } from "../generated/schema/head";
import type { Db } from "./db";
import { sql } from "./sql";

export class SchemaError extends Error {}

async function tableExists(db: Db, name: string): Promise<boolean> {
  const row =
    db.dialect === "sqlite"
      ? await db.one(sql`SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ${name}`)
      : await db.one(sql`SELECT 1 AS x FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ${name}`);
  return row !== undefined;
}

/** Creates MLflow's schema on an empty database, or checks an existing one is at our head. */
export async function ensureSchema(db: Db): Promise<"created" | "verified"> {
  const created = await db.tx(async (tx) => {
    // Serialise concurrent first starts (several workers, or Python beside us).
    if (tx.dialect === "postgres") await tx.run(sql`SELECT pg_advisory_xact_lock(727274)`);
    if (await tableExists(tx, "alembic_version")) return false;
    if (await tableExists(tx, "experiments")) {
      throw new SchemaError(
        "The database has MLflow tables but no alembic_version table, so its schema version is unknown. " +
          "Run 'mlflow db upgrade <database_uri>' with MLflow 3.18.0, then start mlflow-bun again.",
      );
    }
    await tx.exec(tx.dialect === "sqlite" ? stripComments(sqliteDdl) : stripComments(postgresDdl));
    return true;
  });
  const row = await db.one<{ version_num: string }>(sql`SELECT version_num FROM alembic_version`);
  if (row?.version_num !== ALEMBIC_HEAD) {
    throw new SchemaError(
      `Detected out-of-date database schema (found version ${row?.version_num ?? "none"}, but expected ${ALEMBIC_HEAD}). ` +
        "Take a backup of your database, then run 'mlflow db upgrade <database_uri>' with MLflow 3.18.0 " +
        "to migrate your database to the schema mlflow-bun serves.",
    );
  }
  return created ? "created" : "verified";
}

function stripComments(ddl: string): string {
  return ddl
    .split("\n")
    .filter((line) => !line.startsWith("--"))
    .join("\n");
}
