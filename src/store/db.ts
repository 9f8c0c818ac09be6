// One small interface over the two drivers: postgres.js (pooled) and bun:sqlite.
// Stores write SQL once, as `sql` fragments; dialect.ts holds the few places it differs.
import { Database } from "bun:sqlite";
import postgres from "postgres";
import { MlflowError } from "../errors";
import { Fragment, render } from "./sql";
import { pgError, sqliteBusy, sqliteError } from "./sqlalchemy-errors";

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
  /** Inside a transaction: when fn throws, only its statements are undone (a transaction outside one). */
  savepoint<T>(fn: (db: Db) => Promise<T>): Promise<T>;
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

// psycopg2 waits for a connection as long as the OS does; a request during an outage should
// answer 503 within seconds instead (a refused connection fails at once anyway).
const PG_CONNECT_TIMEOUT_SECONDS = 5;

function openPostgres(url: string, max: number): Db {
  const parsedUrl = new URL(url);
  const pool = postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: PG_CONNECT_TIMEOUT_SECONDS,
    // postgres.js waits before reconnecting, up to 20 s after repeated failures, and queued
    // requests wait with it; SQLAlchemy's pool tries at each checkout, so a request during an
    // outage fails at once (503) and the first one after it succeeds.
    backoff: () => 0,
    // No JIT compilation: a statement PostgreSQL estimates as costly (a table without statistics
    // yet, e.g. freshly loaded: the 100 runs of a search page with their metrics, params and tags
    // estimated at 700k) was JIT-compiled on each execution, 180 ms for a 20 ms query. A session
    // setting: results are the same.
    connection: { jit: "off" },
    // MLflow emits int64 as JSON numbers; read BIGINT as number (epoch ms and steps fit).
    types: { bigint: { to: 20, from: [20], parse: (x: string) => Number(x), serialize: (x: number) => String(x) } },
  });
  const placeholder = (i: number) => `$${i}`;
  // An array parameter stands for the list SQLAlchemy binds value by value (IN lists).
  const hasNul = (p: unknown): boolean => (typeof p === "string" ? p.includes("\0") : Array.isArray(p) && p.some(hasNul));
  const wrap = (q: postgres.Sql | postgres.TransactionSql): Db => {
    const exec = async (query: Fragment) => {
      const { text, params } = render(query, placeholder);
      // psycopg2 refuses NUL in strings before sending (a ValueError MLflow answers as
      // INTERNAL_ERROR); PostgreSQL itself would reject them with another error.
      if (params.some(hasNul)) {
        throw new MlflowError("A string literal cannot contain NUL (0x00) characters.", "INTERNAL_ERROR");
      }
      try {
        return await q.unsafe(text, params as any[], { prepare: true });
      } catch (e) {
        throw pgError(e, parsedUrl);
      }
    };
    return {
      dialect: "postgres",
      all: async (query) => [...(await exec(query))] as any[],
      one: async (query) => (await exec(query))[0] as any,
      run: async (query) => (await exec(query)).count,
      exec: async (script) => {
        try {
          await q.unsafe(script).simple();
        } catch (e) {
          throw pgError(e, parsedUrl);
        }
      },
      tx: async (fn) => (q !== pool ? fn(wrap(q)) : transaction(fn)), // nested: the same transaction
      // postgres.js fails a transaction whose statement failed, even when the error is caught,
      // unless the statement ran in its savepoint().
      savepoint: async (fn) => {
        if (q === pool) return transaction(fn);
        try {
          return (await (q as postgres.TransactionSql).savepoint((s) => fn(wrap(s)))) as any;
        } catch (e) {
          throw pgError(e, parsedUrl);
        }
      },
      close: () => pool.end({ timeout: 5 }),
    };
  };

  // A transaction on a connection that closes fails its statements; pool.begin's ROLLBACK on the
  // dead connection is harmless since patches/postgres+3.4.9.patch (see patches/README.md).
  const transaction = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    try {
      return (await pool.begin((t) => fn(wrap(t)))) as T;
    } catch (e) {
      throw pgError(e, parsedUrl);
    }
  };
  return wrap(pool);
}

// ---- SQLite ----------------------------------------------------------------------------------

// MLflow's PRAGMA busy_timeout: how long a statement waits for another connection's lock.
const BUSY_TIMEOUT_MS = 20_000;
// bun:sqlite is synchronous: SQLite's own busy wait would stall every request of the process
// for up to busy_timeout. The connection waits at most this long at once; the rest of the wait
// is asynchronous (patiently below), so reads keep being served while another process writes.
const BUSY_SLICE_MS = 5;
const BUSY = Symbol("busy");

function openSqlite(path: string): Db {
  const db = new Database(path, { create: true, strict: false });
  // Opening may meet another process's lock: wait as MLflow does (start-up only).
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS};`);
  db.exec("PRAGMA journal_mode = WAL;");
  // MLflow's per-session pragmas (store/db/utils.py), but busy_timeout: see BUSY_SLICE_MS.
  db.exec(`PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${BUSY_SLICE_MS}; PRAGMA case_sensitive_like = true;`);
  db.exec("PRAGMA synchronous = NORMAL;");

  // One connection: a transaction must not interleave with other requests' statements,
  // so every use of the connection goes through this queue.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T> | T): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  /**
   * Runs op alone on the connection. While another connection holds the lock (op threw
   * SQLITE_BUSY), the connection goes back to the queue and op is tried again later, until
   * busy_timeout is spent; then the busy error is MLflow's 503.
   */
  const patiently = async <T>(op: () => Promise<T> | T): Promise<T> => {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      const outcome = await exclusive(async () => {
        try {
          return { value: await op() };
        } catch (e) {
          if (sqliteBusy(e) && Date.now() < deadline) return BUSY;
          throw sqliteError(e);
        }
      });
      if (outcome !== BUSY) return outcome.value;
      await Bun.sleep(pause);
    }
  };

  const run = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw sqliteError(e);
    }
  };
  const placeholder = () => "?";
  const prepared = (query: Fragment) => {
    const { text, params } = render(query, placeholder);
    return { stmt: db.query(text), params: params.map(toSqlite) };
  };
  // Unwrapped: driver errors escape as they are (patiently looks for SQLITE_BUSY).
  const rawAll = (query: Fragment) => { const { stmt, params } = prepared(query); return stmt.all(...(params as any[])) as any[]; };
  const rawOne = (query: Fragment) => { const { stmt, params } = prepared(query); return (stmt.get(...(params as any[])) ?? undefined) as any; };
  const rawRun = (query: Fragment) => { const { stmt, params } = prepared(query); return stmt.run(...(params as any[])).changes; };
  // Inside a transaction the lock is held: an error is final.
  const direct: Db = {
    dialect: "sqlite",
    all: async (query) => run(() => rawAll(query)),
    one: async (query) => run(() => rawOne(query)),
    run: async (query) => run(() => rawRun(query)),
    exec: async (script) => run(() => void db.exec(script)),
    tx: async (fn) => fn(direct),
    savepoint: async (fn) => {
      db.exec("SAVEPOINT nested");
      try {
        const result = await fn(direct);
        db.exec("RELEASE nested");
        return result;
      } catch (e) {
        db.exec("ROLLBACK TO nested");
        db.exec("RELEASE nested");
        throw e;
      }
    },
    close: async () => db.close(),
  };
  const outer: Db = {
    dialect: "sqlite",
    all: (query) => patiently(() => rawAll(query)),
    one: (query) => patiently(() => rawOne(query)),
    run: (query) => patiently(() => rawRun(query)),
    exec: (script) => patiently(() => void db.exec(script)),
    tx: (fn) =>
      patiently(async () => {
        db.exec("BEGIN IMMEDIATE"); // SQLITE_BUSY here: nothing done yet, patiently tries again
        try {
          const result = await fn(direct);
          run(() => db.exec("COMMIT"));
          return result;
        } catch (e) {
          if (db.inTransaction) db.exec("ROLLBACK");
          throw sqliteError(e);
        }
      }),
    savepoint: (fn) => outer.tx(fn),
    close: () => exclusive(() => db.close()),
  };
  return outer;
}

function toSqlite(v: unknown): unknown {
  return typeof v === "boolean" ? (v ? 1 : 0) : v;
}
