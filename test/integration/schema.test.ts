// Schema identity: a database mlflow-bun creates (ensureSchema on an empty database) is the
// database MLflow 3.18.0's own migrations build (`mlflow db upgrade` on an empty database),
// compared object by object through each engine's catalog; and the two servers can share one.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { DEFAULTS, resolveArtifactRoot, type Config } from "../../src/config";
import { ALEMBIC_HEAD } from "../../src/generated/schema/head";
import { startServer } from "../../src/main";
import { openDb } from "../../src/store/db";
import { ensureSchema, SchemaError } from "../../src/store/schema";
import { freshDatabase } from "../support/postgres";

const ROOT = resolve(import.meta.dir, "../..");
const MLFLOW = join(ROOT, ".venv/bin/mlflow");
const PYTHON = join(ROOT, ".venv/bin/python");
const SLOW = 120_000;

type Dialect = "sqlite" | "postgres";

// ---- running MLflow's Python -----------------------------------------------------------------

/** SQLAlchemy 2.1 maps postgresql:// to psycopg 3; the venv has psycopg2, so name the driver. */
const pyUri = (uri: string) => uri.replace(/^postgres(ql)?:\/\//, "postgresql+psycopg2://");

async function exec(argv: string[], cwd: string, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, { cwd, stdin: input === undefined ? "ignore" : new Blob([input]), stdout: "pipe", stderr: "pipe", env: { ...process.env, MLFLOW_TRACKING_URI: "" } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function mlflowDbUpgrade(uri: string, cwd: string): Promise<void> {
  const r = await exec([MLFLOW, "db", "upgrade", pyUri(uri)], cwd);
  if (r.code !== 0) throw new Error(`mlflow db upgrade failed (${r.code}):\n${r.stderr}`);
}

/** Runs a Python snippet with `uri` bound; its last stdout line is parsed as JSON. */
async function python(code: string, uri: string, cwd: string): Promise<any> {
  const r = await exec([PYTHON, "-c", `import json, sys\nuri = sys.argv[1]\n${code}`, pyUri(uri)], cwd);
  if (r.code !== 0) throw new Error(`python failed (${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

// ---- empty databases of either dialect ---------------------------------------------------------

interface EmptyDb {
  uri: string;
  drop(): Promise<void>;
}

async function emptyDb(dialect: Dialect, dir: string, name: string): Promise<EmptyDb> {
  if (dialect === "postgres") return freshDatabase(`mlflow_bun_schema_${name}`);
  const path = join(dir, `${name}-${crypto.randomUUID().slice(0, 8)}.db`);
  return { uri: `sqlite:///${path}`, drop: async () => {} };
}

async function createWithBun(uri: string): Promise<void> {
  const db = openDb(uri, { poolSize: 2 });
  try {
    expect(await ensureSchema(db)).toBe("created");
  } finally {
    await db.close();
  }
}

function config(backendStoreUri: string, dir: string): Config {
  return {
    ...DEFAULTS,
    host: "127.0.0.1",
    port: 0,
    backendStoreUri,
    defaultArtifactRoot: resolveArtifactRoot(undefined, true),
    artifactsDestination: join(dir, "mlartifacts"),
    artifactsOnly: false,
  };
}

// ---- catalogs ------------------------------------------------------------------------------------

/** Everything that makes up a schema, per kind of object, each list sorted. */
interface Catalog {
  tables: string[];
  columns: Record<string, unknown[]>;
  primaryKeys: unknown[];
  foreignKeys: unknown[];
  uniques: unknown[];
  checks: unknown[];
  indexes: unknown[];
  /** PostgreSQL: sequences, triggers, functions, enum types, views; SQLite: triggers, views, pragmas. */
  other: Record<string, unknown[]>;
  /** Every row of every table (alembic_version, the default workspace, ...). */
  rows: Record<string, string[]>;
  alembicVersion: string[];
}

const byJson = (a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0);
const sorted = <T>(xs: T[]) => [...xs].sort(byJson);
const squash = (s: string) => s.replace(/\s+/g, " ").trim();

// SQLite keeps constraint names and CHECK expressions only in sqlite_master.sql, so those are read
// from it: the CREATE TABLE body split into its top-level items.
function tableItems(createSql: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = "";
  for (const ch of createSql) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"' || ch === "`") {
      quote = ch;
    } else if (ch === "[") {
      quote = "]";
    } else if (ch === "(") {
      depth++;
      if (depth === 1) continue;
    } else if (ch === ")") {
      depth--;
      if (depth === 0) {
        items.push(current);
        current = "";
        continue;
      }
    } else if (ch === "," && depth === 1) {
      items.push(current);
      current = "";
      continue;
    }
    if (depth >= 1) current += ch;
  }
  return items.map(squash).filter(Boolean);
}

/** CHECK (...) clauses in an item, with the CONSTRAINT name before them if any. */
function checksIn(item: string): { name: string | null; expr: string }[] {
  const out: { name: string | null; expr: string }[] = [];
  const re = /(?:CONSTRAINT\s+("[^"]+"|\S+)\s+)?CHECK\s*\(/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(item))) {
    let depth = 1;
    let i = re.lastIndex;
    let quote: string | undefined;
    for (; i < item.length && depth > 0; i++) {
      const ch = item[i]!;
      if (quote) {
        if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"') quote = ch;
      else if (ch === "(") depth++;
      else if (ch === ")") depth--;
    }
    out.push({ name: m[1] ? m[1].replace(/^"|"$/g, "") : null, expr: squash(item.slice(re.lastIndex, i - 1)) });
    re.lastIndex = i;
  }
  return out;
}

function sqliteCatalog(path: string): Catalog {
  const db = new Database(path);
  try {
    const q = (text: string) => db.query(text).all() as any[];
    const master = q("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name");
    const tables = master.filter((o) => o.type === "table").map((o) => o.name as string).sort();
    const cat: Catalog = { tables, columns: {}, primaryKeys: [], foreignKeys: [], uniques: [], checks: [], indexes: [], other: {}, rows: {}, alembicVersion: [] };
    for (const t of tables) {
      const quoted = `"${t.replace(/"/g, '""')}"`;
      const cols = q(`PRAGMA table_xinfo(${quoted})`);
      cat.columns[t] = cols.map((c) => ({ cid: c.cid, name: c.name, type: c.type, notnull: c.notnull, default: c.dflt_value, pk: c.pk, hidden: c.hidden }));
      const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      const createSql = master.find((o) => o.type === "table" && o.name === t)!.sql as string;
      const items = tableItems(createSql);
      const named = (kind: RegExp) => items.filter((i) => kind.test(i)).map((i) => /^CONSTRAINT\s+("[^"]+"|\S+)/i.exec(i)?.[1]?.replace(/^"|"$/g, "") ?? null);
      if (pk.length) cat.primaryKeys.push({ table: t, columns: pk, names: named(/^(CONSTRAINT\s+\S+\s+)?PRIMARY KEY/i) });
      const fks = q(`PRAGMA foreign_key_list(${quoted})`);
      const byId = new Map<number, any[]>();
      for (const fk of fks) byId.set(fk.id, [...(byId.get(fk.id) ?? []), fk]);
      for (const parts of byId.values()) {
        parts.sort((a, b) => a.seq - b.seq);
        const p = parts[0];
        cat.foreignKeys.push({ table: t, columns: parts.map((x) => x.from), refTable: p.table, refColumns: parts.map((x) => x.to), onUpdate: p.on_update, onDelete: p.on_delete, match: p.match });
      }
      cat.foreignKeys.push(...named(/^(CONSTRAINT\s+\S+\s+)?FOREIGN KEY/i).map((name) => ({ table: t, fkConstraintName: name })));
      for (const idx of q(`PRAGMA index_list(${quoted})`)) {
        const cols2 = (db.query(`PRAGMA index_xinfo("${String(idx.name).replace(/"/g, '""')}")`).all() as any[]).filter((c) => c.key === 1).map((c) => ({ name: c.name, cid: c.cid, desc: c.desc, coll: c.coll }));
        const entry = { table: t, name: idx.name, unique: idx.unique, origin: idx.origin, partial: idx.partial, columns: cols2 };
        cat.indexes.push(entry);
        if (idx.origin === "u") cat.uniques.push({ table: t, columns: cols2.map((c) => c.name) });
      }
      cat.uniques.push(...named(/^(CONSTRAINT\s+\S+\s+)?UNIQUE/i).map((name) => ({ table: t, uniqueConstraintName: name })));
      for (const item of items) for (const c of checksIn(item)) cat.checks.push({ table: t, ...c });
      cat.rows[t] = q(`SELECT * FROM ${quoted}`).map((r) => JSON.stringify(r)).sort();
    }
    // Index definitions: partial-index predicates and expression indexes live only in their SQL.
    cat.other.indexSql = master.filter((o) => o.type === "index" && o.sql).map((o) => ({ name: o.name, table: o.tbl_name, sql: squash(o.sql) }));
    cat.other.triggers = master.filter((o) => o.type === "trigger").map((o) => ({ name: o.name, table: o.tbl_name, sql: squash(o.sql) }));
    cat.other.views = master.filter((o) => o.type === "view").map((o) => ({ name: o.name, sql: squash(o.sql) }));
    cat.other.pragmas = [{ user_version: q("PRAGMA user_version")[0].user_version, application_id: q("PRAGMA application_id")[0].application_id, encoding: q("PRAGMA encoding")[0].encoding }];
    cat.alembicVersion = q("SELECT version_num FROM alembic_version").map((r) => r.version_num);
    for (const k of ["primaryKeys", "foreignKeys", "uniques", "checks", "indexes"] as const) cat[k] = sorted(cat[k]);
    return cat;
  } finally {
    db.close();
  }
}

async function postgresCatalog(uri: string): Promise<Catalog> {
  const sql = postgres(uri.replace(/^postgresql:/, "postgres:"), { max: 1, onnotice: () => {} });
  try {
    const q = async (text: string) => [...(await sql.unsafe(text))] as any[];
    const tables = (await q(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`)).map((r) => r.table_name as string);
    const cat: Catalog = { tables, columns: {}, primaryKeys: [], foreignKeys: [], uniques: [], checks: [], indexes: [], other: {}, rows: {}, alembicVersion: [] };
    const cols = await q(`
      SELECT table_name, column_name, ordinal_position, data_type, udt_name, character_maximum_length, numeric_precision,
             numeric_scale, datetime_precision, is_nullable, column_default, is_identity, identity_generation,
             is_generated, generation_expression, collation_name
      FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`);
    // Listed in ordinal order, but without ordinal_position itself: a column a migration dropped
    // leaves a gap in the numbering of the database MLflow migrated (spans has one), never in
    // one created in a single pass. The order and every other attribute must match.
    for (const t of tables) cat.columns[t] = cols.filter((c) => c.table_name === t).map(({ table_name, ordinal_position, ...c }) => c);
    const constraints = await q(`
      SELECT con.conname AS name, cl.relname AS table, con.contype AS type, con.condeferrable AS deferrable,
             con.condeferred AS deferred, con.convalidated AS validated,
             ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
             fcl.relname AS ref_table,
             ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS ref_columns,
             con.confupdtype AS on_update, con.confdeltype AS on_delete, con.confmatchtype AS match,
             pg_get_constraintdef(con.oid) AS definition
      FROM pg_constraint con
      JOIN pg_class cl ON cl.oid = con.conrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace
      LEFT JOIN pg_class fcl ON fcl.oid = con.confrelid
      WHERE n.nspname = current_schema()`);
    const of = (type: string) => sorted(constraints.filter((c) => c.type === type).map(({ type: _t, ...c }) => c));
    cat.primaryKeys = of("p");
    cat.foreignKeys = of("f");
    cat.uniques = of("u");
    cat.checks = of("c");
    cat.other.exclusions = of("x");
    cat.indexes = sorted(
      await q(`
        SELECT i.relname AS name, t.relname AS table, am.amname AS method, ix.indisunique AS unique, ix.indisprimary AS primary,
               ix.indnullsnotdistinct AS nulls_not_distinct, ix.indnkeyatts AS key_columns,
               ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true) FROM generate_series(1, ix.indnatts) k) AS columns,
               ix.indoption::int2[]::text AS options, pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
               pg_get_indexdef(ix.indexrelid) AS definition
        FROM pg_index ix
        JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_am am ON am.oid = i.relam
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = current_schema()`),
    );
    cat.other.sequences = sorted(
      await q(`
        SELECT s.sequencename AS name, s.data_type::text, s.start_value::text, s.min_value::text, s.max_value::text,
               s.increment_by::text, s.cycle, s.last_value::text,
               (SELECT t.relname || '.' || a.attname FROM pg_depend d
                  JOIN pg_class t ON t.oid = d.refobjid
                  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass
                  AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owned_by
        FROM pg_sequences s WHERE s.schemaname = current_schema()`),
    );
    cat.other.triggers = sorted(
      await q(`
        SELECT tg.tgname AS name, c.relname AS table, tg.tgenabled::text AS enabled, pg_get_triggerdef(tg.oid) AS definition
        FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND NOT tg.tgisinternal`),
    );
    cat.other.functions = sorted(
      await q(`
        SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result,
               l.lanname AS language, p.prokind::text AS kind, p.provolatile::text AS volatility, p.prosrc AS source
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
        WHERE n.nspname = current_schema()`),
    );
    cat.other.types = sorted(
      await q(`
        SELECT t.typname AS name, t.typtype::text AS kind,
               ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'r', 'm')
           OR (n.nspname = current_schema() AND t.typtype = 'c' AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c'))`),
    );
    cat.other.views = sorted(await q(`SELECT viewname AS name, definition FROM pg_views WHERE schemaname = current_schema()`));
    cat.other.comments = sorted(
      await q(`
        SELECT c.relname AS table, a.attname AS column, d.description
        FROM pg_description d JOIN pg_class c ON c.oid = d.objoid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
        WHERE n.nspname = current_schema()`),
    );
    for (const t of tables) cat.rows[t] = (await q(`SELECT row_to_json(x)::text AS r FROM "${t}" x`)).map((r) => r.r as string).sort();
    cat.alembicVersion = (await q("SELECT version_num FROM alembic_version")).map((r) => r.version_num);
    return cat;
  } finally {
    await sql.end();
  }
}

const catalogOf = (dialect: Dialect, uri: string) => (dialect === "sqlite" ? sqliteCatalog(uri.slice("sqlite:///".length)) : postgresCatalog(uri));

// ---- the tests -------------------------------------------------------------------------------------

for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`schema identity (${dialect}): mlflow-bun's ensureSchema vs \`mlflow db upgrade\``, () => {
    let dir: string;
    const dbs: EmptyDb[] = [];
    let bun: Catalog;
    let mlflow: Catalog;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mlflow-bun-schema-"));
      const a = await emptyDb(dialect, dir, "bun");
      dbs.push(a);
      const b = await emptyDb(dialect, dir, "mlflow");
      dbs.push(b);
      await Promise.all([createWithBun(a.uri), mlflowDbUpgrade(b.uri, dir)]);
      [bun, mlflow] = await Promise.all([catalogOf(dialect, a.uri), catalogOf(dialect, b.uri)]);
    }, SLOW);

    afterAll(async () => {
      await Promise.all(dbs.map((db) => db.drop())); // DROP DATABASE checkpoints: give it time
      rmSync(dir, { recursive: true, force: true });
    }, SLOW);

    test("same tables", () => {
      expect(mlflow.tables.length).toBeGreaterThan(40);
      expect(mlflow.tables).toContain("experiments");
      expect(mlflow.tables).toContain("alembic_version");
      expect(bun.tables).toEqual(mlflow.tables);
    });

    test("same columns, in order, with types, nullability and defaults", () => {
      expect(mlflow.columns.experiments!.length).toBeGreaterThan(5);
      for (const t of mlflow.tables) expect({ table: t, columns: bun.columns[t] }).toEqual({ table: t, columns: mlflow.columns[t] });
    });

    test("same primary keys", () => {
      expect(mlflow.primaryKeys.length).toBeGreaterThan(40);
      expect(bun.primaryKeys).toEqual(mlflow.primaryKeys);
    });

    test("same foreign keys, with their ON DELETE / ON UPDATE rules", () => {
      expect(mlflow.foreignKeys.length).toBeGreaterThan(20);
      // Some cascade: a vacuous comparison of two empty lists would not pass.
      const cascades = mlflow.foreignKeys.filter((f: any) => f.onDelete === "CASCADE" || f.on_delete === "c");
      expect(cascades.length).toBeGreaterThan(0);
      expect(bun.foreignKeys).toEqual(mlflow.foreignKeys);
    });

    test("same unique constraints", () => {
      expect(mlflow.uniques.length).toBeGreaterThan(0);
      expect(bun.uniques).toEqual(mlflow.uniques);
    });

    test("same check constraints, expressions stored exactly as MLflow's migrations store them", () => {
      // (On PostgreSQL this holds because codegen/dump_schema.py writes pg_dump's re-spelling of
      // `col IN ('a', 'b')` back as MLflow's migrations wrote it.)
      expect(mlflow.checks.length).toBeGreaterThan(0);
      expect(bun.checks).toEqual(mlflow.checks);
    });

    test("same indexes", () => {
      expect(mlflow.indexes.length).toBeGreaterThan(40);
      expect(bun.indexes).toEqual(mlflow.indexes);
    });

    test(dialect === "postgres" ? "same sequences, triggers, functions, types, views and comments" : "same triggers, views, index SQL and pragmas", () => {
      if (dialect === "postgres") {
        expect(mlflow.other.sequences!.length).toBeGreaterThan(0);
        expect(mlflow.other.triggers!.length).toBeGreaterThan(0);
      }
      expect(bun.other).toEqual(mlflow.other);
    });

    test("same rows in every table (alembic_version, the default workspace, ...)", () => {
      expect(Object.keys(bun.rows).sort()).toEqual(Object.keys(mlflow.rows).sort());
      for (const t of mlflow.tables) expect({ table: t, rows: bun.rows[t] }).toEqual({ table: t, rows: mlflow.rows[t] });
    });

    test("same alembic_version: the pinned head", () => {
      expect(mlflow.alembicVersion).toEqual([ALEMBIC_HEAD]);
      expect(bun.alembicVersion).toEqual([ALEMBIC_HEAD]);
    });
  });

  describe(`one database, two servers (${dialect})`, () => {
    let dir: string;
    const dbs: EmptyDb[] = [];
    beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "mlflow-bun-share-"))));
    afterAll(async () => {
      await Promise.all(dbs.map((db) => db.drop())); // DROP DATABASE checkpoints: give it time
      rmSync(dir, { recursive: true, force: true });
    }, SLOW);

    test("MLflow's Python store works on a database mlflow-bun created", async () => {
      const db = await emptyDb(dialect, dir, "bunmade");
      dbs.push(db);
      const server = await startServer(config(db.uri, dir), { signals: false, quiet: true });
      let created: any;
      try {
        const res = await fetch(`${server.url}/api/2.0/mlflow/experiments/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "made-by-bun", tags: [{ key: "origin", value: "bun" }] }) });
        expect(res.status).toBe(200);
        const bunId = ((await res.json()) as any).experiment_id as string;

        // Python opens the same database while mlflow-bun is serving it: its store checks the
        // alembic head and the tables as it always does, reads what mlflow-bun wrote, and writes.
        created = await python(
          `
import mlflow
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=uri)
bun = c.get_experiment_by_name("made-by-bun")
default = c.get_experiment("0")
eid = c.create_experiment("made-by-python", tags={"origin": "python"})
run = c.create_run(eid, tags={"t": "1"})
c.log_param(run.info.run_id, "p", "v")
c.log_metric(run.info.run_id, "m", 1.5, step=2)
c.set_terminated(run.info.run_id)
got = c.get_run(run.info.run_id)
names = sorted(e.name for e in c.search_experiments())
print(json.dumps({"bun_id": bun.experiment_id, "bun_tags": bun.tags, "default": default.name, "eid": eid,
                  "metric": got.data.metrics, "param": got.data.params, "status": got.info.status, "names": names}))
`,
          db.uri,
          dir,
        );
        expect(created).toMatchObject({ bun_id: bunId, bun_tags: { origin: "bun" }, default: "Default", metric: { m: 1.5 }, param: { p: "v" }, status: "FINISHED" });
        expect(created.names).toEqual(["Default", "made-by-bun", "made-by-python"]);

        // ... and mlflow-bun reads what Python wrote.
        const got: any = await (await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=${created.eid}`)).json();
        expect(got.experiment).toMatchObject({ experiment_id: created.eid, name: "made-by-python", lifecycle_stage: "active" });
        expect(got.experiment.tags).toContainEqual({ key: "origin", value: "python" });
      } finally {
        await server.stop();
      }
      // A restart verifies the schema Python has been writing to.
      const again = await startServer(config(db.uri, dir), { signals: false, quiet: true });
      await again.stop();
    }, SLOW);

    test("mlflow-bun serves a database `mlflow db upgrade` created, and Python reads what it wrote", async () => {
      const db = await emptyDb(dialect, dir, "mlflowmade");
      dbs.push(db);
      await mlflowDbUpgrade(db.uri, dir);
      const check = openDb(db.uri, { poolSize: 1 });
      try {
        expect(await ensureSchema(check)).toBe("verified");
      } finally {
        await check.close();
      }
      const server = await startServer(config(db.uri, dir), { signals: false, quiet: true });
      try {
        const def: any = await (await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`)).json();
        expect(def.experiment).toMatchObject({ experiment_id: "0", name: "Default", lifecycle_stage: "active" });
        const res = await fetch(`${server.url}/api/2.0/mlflow/experiments/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "bun-on-mlflow-db" }) });
        expect(res.status).toBe(200);
        const id = ((await res.json()) as any).experiment_id as string;
        const seen = await python(
          `
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=uri)
e = c.get_experiment_by_name("bun-on-mlflow-db")
d = c.get_experiment("0")
print(json.dumps({"id": e.experiment_id, "stage": e.lifecycle_stage, "default": d.name, "default_location": d.artifact_location}))
`,
          db.uri,
          dir,
        );
        expect(seen).toEqual({ id, stage: "active", default: "Default", default_location: "mlflow-artifacts:/0" });
      } finally {
        await server.stop();
      }
    }, SLOW);
  });

  describe(`out-of-date schema (${dialect})`, () => {
    let dir: string;
    const dbs: EmptyDb[] = [];
    beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "mlflow-bun-stale-"))));
    afterAll(async () => {
      await Promise.all(dbs.map((db) => db.drop())); // DROP DATABASE checkpoints: give it time
      rmSync(dir, { recursive: true, force: true });
    }, SLOW);

    test("a database one migration behind head (alembic downgrade -1) makes startServer fail", async () => {
      const db = await emptyDb(dialect, dir, "behind");
      dbs.push(db);
      await mlflowDbUpgrade(db.uri, dir);
      const { version } = await python(
        `
import sqlalchemy
from alembic import command
from mlflow.store.db.utils import _get_alembic_config
engine = sqlalchemy.create_engine(uri)
cfg = _get_alembic_config(uri)
with engine.begin() as conn:
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, "-1")
with engine.connect() as conn:
    version = conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()
engine.dispose()
print(json.dumps({"version": version}))
`,
        db.uri,
        dir,
      );
      expect(version).not.toBe(ALEMBIC_HEAD);
      const error = await startServer(config(db.uri, dir), { signals: false, quiet: true }).then(
        async (s) => {
          await s.stop();
          return undefined;
        },
        (e) => e,
      );
      expect(error).toBeInstanceOf(SchemaError);
      expect(error.message).toContain(`Detected out-of-date database schema (found version ${version}, but expected ${ALEMBIC_HEAD})`);
      expect(error.message).toContain("mlflow db upgrade");

      // `mlflow db upgrade` is the fix the message names: afterwards the server starts.
      await mlflowDbUpgrade(db.uri, dir);
      const s = await startServer(config(db.uri, dir), { signals: false, quiet: true });
      await s.stop();
    }, SLOW);

    test("a database stamped with a revision mlflow-bun does not know makes startServer fail", async () => {
      const db = await emptyDb(dialect, dir, "stamped");
      dbs.push(db);
      await createWithBun(db.uri);
      const h = openDb(db.uri, { poolSize: 1 });
      try {
        await h.exec("UPDATE alembic_version SET version_num = 'ffffffffffff'");
      } finally {
        await h.close();
      }
      await expect(startServer(config(db.uri, dir), { signals: false, quiet: true })).rejects.toThrow(
        `Detected out-of-date database schema (found version ffffffffffff, but expected ${ALEMBIC_HEAD})`,
      );
    }, SLOW);
  });
}
