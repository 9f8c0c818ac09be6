// One small interface over the two drivers: postgres.js (pooled) and bun:sqlite.
// Stores write SQL once, as `sql` fragments; dialect.ts holds the few places it differs.
import { Database } from "bun:sqlite";
import postgres from "postgres";
import { MlflowError } from "../errors";
import { Fragment, render } from "./sql";

export type Dialect = "sqlite" | "postgres";
export type Row = Record<string, any>;

export interface Db {
  readonly dialect: Dialect;
  all<T = Row>(query: Fragment): Promise<T[]>;
  one<T = Row>(query: Fragment): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(query: Fragment): Promise<number>;
  /** Runs a multi-statement script (DDL). */
  exec(script: string): Promise<void>;
  /** All-or-nothing: commits when fn resolves, rolls back when it throws. */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreUri {
  dialect: Dialect;
  /** A postgres.js URL, or a SQLite file path (":memory:" for `sqlite://`). */
  target: string;
}

/** Parses a backend store URI as `mlflow server` spells it. */
export function parseStoreUri(uri: string): StoreUri {
  const m = /^([a-z0-9]+)(?:\+[a-z0-9_]+)?:\/\/(.*)$/i.exec(uri);
  if (!m) throw new Error(`Invalid backend store URI '${uri}': expected sqlite:///path or postgresql://...`);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme === "sqlite") {
    if (rest === "" || rest === "/:memory:") return { dialect: "sqlite", target: ":memory:" };
    if (!rest.startsWith("/")) throw new Error(`Invalid SQLite URI '${uri}': expected sqlite:///relative.db or sqlite:////absolute.db`);
    // sqlite:///rel.db → "rel.db"; sqlite:////abs.db → "/abs.db" (SQLAlchemy's rule)
    return { dialect: "sqlite", target: rest.slice(1).split("?")[0]! };
  }
  if (scheme === "postgresql" || scheme === "postgres") return { dialect: "postgres", target: `postgres://${rest}` };
  throw new Error(`Unsupported backend store URI '${uri}': mlflow-bun serves sqlite and postgresql`);
}

export function openDb(uri: string, options: { poolSize?: number } = {}): Db {
  const parsed = parseStoreUri(uri);
  return parsed.dialect === "sqlite" ? openSqlite(parsed.target) : openPostgres(parsed.target, options.poolSize ?? 10);
}

// ---- PostgreSQL ------------------------------------------------------------------------------

const PG_CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);

/** MLflow's session wrapper: OperationalError → 503 TEMPORARILY_UNAVAILABLE, other DB errors → 400 BAD_REQUEST. */
function dbError(e: unknown, connectionLost: boolean): never {
  if (e instanceof MlflowError) throw e;
  const message = e instanceof Error ? e.message : String(e);
  throw new MlflowError(message, connectionLost ? "TEMPORARILY_UNAVAILABLE" : "BAD_REQUEST");
}

function openPostgres(url: string, max: number): Db {
  const pool = postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 10,
    // MLflow emits int64 as JSON numbers; read BIGINT as number (epoch ms and steps fit).
    types: { bigint: { to: 20, from: [20], parse: (x: string) => Number(x), serialize: (x: number) => String(x) } },
  });
  const placeholder = (i: number) => `$${i}`;
  const wrap = (q: postgres.Sql | postgres.TransactionSql): Db => {
    const exec = async (query: Fragment) => {
      const { text, params } = render(query, placeholder);
      // psycopg2 refuses NUL in strings before sending (a ValueError MLflow answers as
      // INTERNAL_ERROR); PostgreSQL itself would reject them with another error.
      if (params.some((p) => typeof p === "string" && p.includes("\0"))) {
        throw new MlflowError("A string literal cannot contain NUL (0x00) characters.", "INTERNAL_ERROR");
      }
      try {
        return await q.unsafe(text, params as any[], { prepare: true });
      } catch (e: any) {
        dbError(e, PG_CONNECTION_ERRORS.has(e?.code));
      }
    };
    return {
      dialect: "postgres",
      all: async (query) => [...(await exec(query))] as any[],
      one: async (query) => (await exec(query))[0] as any,
      run: async (query) => (await exec(query)).count,
      exec: async (script) => {
        await q.unsafe(script).simple();
      },
      tx: async (fn) => {
        if (q !== pool) return fn(wrap(q)); // already inside a transaction
        try {
          return (await pool.begin((t) => fn(wrap(t)))) as any;
        } catch (e: any) {
          dbError(e, PG_CONNECTION_ERRORS.has(e?.code));
        }
      },
      close: () => pool.end({ timeout: 5 }),
    };
  };
  return wrap(pool);
}

// ---- SQLite ----------------------------------------------------------------------------------

function openSqlite(path: string): Db {
  const db = new Database(path, { create: true, strict: false });
  db.exec("PRAGMA journal_mode = WAL;");
  // MLflow's per-session pragmas (store/db/utils.py).
  db.exec("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 20000; PRAGMA case_sensitive_like = true;");
  db.exec("PRAGMA synchronous = NORMAL;");

  // One connection: a transaction must not interleave with other requests' statements,
  // so every use of the connection goes through this queue.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T> | T): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  const run = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e: any) {
      dbError(e, e?.code === "SQLITE_BUSY" || e?.code === "SQLITE_LOCKED");
    }
  };
  const placeholder = () => "?";
  const prepared = (query: Fragment) => {
    const { text, params } = render(query, placeholder);
    return { stmt: db.query(text), params: params.map(toSqlite) };
  };
  const direct: Db = {
    dialect: "sqlite",
    all: async (query) => run(() => { const { stmt, params } = prepared(query); return stmt.all(...(params as any[])) as any[]; }),
    one: async (query) => run(() => { const { stmt, params } = prepared(query); return (stmt.get(...(params as any[])) ?? undefined) as any; }),
    run: async (query) => run(() => { const { stmt, params } = prepared(query); return stmt.run(...(params as any[])).changes; }),
    exec: async (script) => run(() => void db.exec(script)),
    tx: async (fn) => fn(direct),
    close: async () => db.close(),
  };
  return {
    dialect: "sqlite",
    all: (query) => exclusive(() => direct.all(query)),
    one: (query) => exclusive(() => direct.one(query)),
    run: (query) => exclusive(() => direct.run(query)),
    exec: (script) => exclusive(() => direct.exec(script)),
    tx: (fn) =>
      exclusive(async () => {
        run(() => db.exec("BEGIN IMMEDIATE"));
        try {
          const result = await fn(direct);
          run(() => db.exec("COMMIT"));
          return result;
        } catch (e) {
          if (db.inTransaction) db.exec("ROLLBACK");
          throw e;
        }
      }),
    close: () => exclusive(() => db.close()),
  };
}

function toSqlite(v: unknown): unknown {
  return typeof v === "boolean" ? (v ? 1 : 0) : v;
}
