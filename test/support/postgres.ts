// Where the tests' PostgreSQL is. test/run.ts finds a reachable server or starts a throwaway
// one and exports MLFLOW_BUN_PG_URL (an admin URL); run alone, a test falls back to the
// local default. Each test gets its own fresh database.
import postgres from "postgres";

export const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export function adminUrl(): string {
  return process.env.MLFLOW_BUN_PG_URL ?? DEFAULT_PG_URL;
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A new empty database; `uri` is in MLflow's spelling (postgresql://). */
export async function freshDatabase(prefix = "mlflow_bun_test"): Promise<{ name: string; uri: string; drop(): Promise<void> }> {
  const name = `${prefix}_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const uri = withDatabase(adminUrl(), name).replace(/^postgres(ql)?:/, "postgresql:");
  return {
    name,
    uri,
    drop: async () => {
      const a = postgres(adminUrl(), { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
