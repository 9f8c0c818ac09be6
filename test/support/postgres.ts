// Where the tests' PostgreSQL is. Run the suite under
//   bun test/support/pg-cluster.ts exec -- bun test
// and MLFLOW_BUN_PG_URL (an admin URL) is exported for it: a reachable server, or a throwaway
// cluster started for the run. Without it, the first freshDatabase() call does the same
// in-process (ensurePostgres) and stops any throwaway cluster when the process exits.
// Each test gets its own fresh database.
import postgres from "postgres";
import { DEFAULT_PG_URL, ensurePostgres, type PgServer } from "./pg-cluster";

export { DEFAULT_PG_URL };

/** The admin URL: MLFLOW_BUN_PG_URL (set by pg-cluster.ts, or by ensureAdminUrl), else the local default. */
export function adminUrl(): string {
  return process.env.MLFLOW_BUN_PG_URL ?? DEFAULT_PG_URL;
}

let ensured: Promise<string> | undefined;

/**
 * A reachable admin URL, starting a throwaway cluster if need be (once per process; stopped
 * at exit). Afterwards adminUrl() returns the same URL, and child processes inherit it.
 */
export function ensureAdminUrl(): Promise<string> {
  return (ensured ??= (async () => {
    const pg: PgServer = await ensurePostgres();
    process.env.MLFLOW_BUN_PG_URL = pg.url;
    if (pg.kind === "throwaway") {
      process.once("exit", () => pg.stopSync());
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
          pg.stopSync();
          process.exit(128 + (signal === "SIGINT" ? 2 : 15));
        });
      }
    }
    return pg.url;
  })());
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A new empty database; `uri` is in MLflow's spelling (postgresql://). */
export async function freshDatabase(prefix = "mlflow_bun_test"): Promise<{ name: string; uri: string; drop(): Promise<void> }> {
  const admin = await ensureAdminUrl();
  const name = `${prefix}_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end();
  }
  const uri = withDatabase(admin, name).replace(/^postgres(ql)?:/, "postgresql:");
  return {
    name,
    uri,
    drop: async () => {
      const a = postgres(admin, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
