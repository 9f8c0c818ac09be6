// The servers under test: how each is installed, given a fresh database, started, measured
// (first /health latency, RSS over its whole process tree) and stopped.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import postgres from "postgres";
import { RssSampler, tree } from "./rss";

export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const BENCH = `${ROOT}/bench`;
export const VENVS = `${BENCH}/.venvs`;
export const TMP = `${BENCH}/.tmp`;
export const BUN = process.execPath;

export type Dialect = "postgres" | "sqlite";
export type Kind = "mlflow-bun" | "mlflow-python" | "fasttrackml" | "mlflow-go" | "ceiling";

export interface ServerSpec {
  /** Row label, e.g. "mlflow-bun/pg". */
  name: string;
  kind: Kind;
  dialect: Dialect;
  /** mlflow-python only: uvicorn workers (undefined = MLflow's default). */
  workers?: number;
  /** Builds its scale data set itself (through its API), or clones the one another server built. */
  cloneFrom?: string;
  /** The Python server every ratio is taken against (same dialect). */
  baseline?: boolean;
}

/** Every server a full run knows about, in start order (builders before their clones). */
export function allSpecs(cores: number): ServerSpec[] {
  return [
    { name: "mlflow-bun/pg", kind: "mlflow-bun", dialect: "postgres" },
    { name: "mlflow-bun/sqlite", kind: "mlflow-bun", dialect: "sqlite" },
    { name: "mlflow-python/pg", kind: "mlflow-python", dialect: "postgres", cloneFrom: "mlflow-bun/pg", baseline: true },
    { name: `mlflow-python/pg w${cores}`, kind: "mlflow-python", dialect: "postgres", workers: cores, cloneFrom: "mlflow-bun/pg" },
    { name: "mlflow-python/sqlite", kind: "mlflow-python", dialect: "sqlite", cloneFrom: "mlflow-bun/sqlite", baseline: true },
    { name: "fasttrackml/pg", kind: "fasttrackml", dialect: "postgres" },
    { name: "fasttrackml/sqlite", kind: "fasttrackml", dialect: "sqlite" },
    { name: "mlflow-go/pg", kind: "mlflow-go", dialect: "postgres" },
    { name: "mlflow-go/sqlite", kind: "mlflow-go", dialect: "sqlite" },
  ];
}

// ---------------------------------------------------------------------------------------------
// Installation: peers live in their own venvs under bench/.venvs (gitignored).

export interface Installed {
  ok: boolean;
  reason?: string;
  version?: string;
}

async function sh(cmd: string[], env: Record<string, string> = {}, timeoutMs = 900_000): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: out + err };
}

const lastLine = (s: string) =>
  s.trim().split("\n").filter((l) => l.trim() && !l.startsWith("WARNING: Location")).slice(-3).join(" | ").slice(0, 400);

async function venv(name: string, pkgs: string[], probe: string[], after?: (dir: string) => Promise<string | undefined>): Promise<Installed> {
  const dir = `${VENVS}/${name}`;
  // the marker names what was installed: another pin reinstalls
  const marker = `${dir}/.installed-${Bun.hash(pkgs.join(" ")).toString(36)}`;
  if (!existsSync(marker)) {
    mkdirSync(VENVS, { recursive: true });
    if (!existsSync(`${dir}/bin/pip`)) {
      const v = await sh(["python3", "-m", "venv", dir]);
      if (v.code !== 0) return { ok: false, reason: `python3 -m venv failed: ${lastLine(v.out)}` };
    }
    const r = await sh([`${dir}/bin/pip`, "install", "-q", "--disable-pip-version-check", ...pkgs]);
    if (r.code !== 0) return { ok: false, reason: `pip install ${pkgs.join(" ")} failed: ${lastLine(r.out)}` };
    const problem = await after?.(dir);
    if (problem) return { ok: false, reason: problem };
    await Bun.write(marker, new Date().toISOString());
  }
  const v = await sh(probe.map((a) => a.replace("$VENV", dir)), {}, 120_000);
  if (v.code !== 0) return { ok: false, reason: `installed, but ${probe.join(" ").replace("$VENV", dir)} failed: ${lastLine(v.out)}` };
  return { ok: true, version: lastLine(v.out.split("\n").filter((l) => !/Warning|register_entrypoints|self\.register/.test(l)).join("\n")) };
}

/**
 * mlflow-go-backend 0.2.2 (the newest on PyPI) imports mlflow.entities.TraceInfoV2, which MLflow
 * dropped in 3.2.0: 3.1.4 is the newest MLflow it accepts (bisected over minor releases), and
 * MLflow 3.1.4 needs SQLAlchemy < 2.1. Its manylinux wheel ships the Linux library under the
 * macOS name (libmlflow-go-backend.dylib), so it would try to build it with a Go toolchain: a
 * directory with the names it looks for, given by MLFLOW_GO_LIBRARY_PATH, avoids that.
 */
const MLFLOW_GO_PKGS = ["mlflow-go-backend==0.2.2", "mlflow==3.1.4", "sqlalchemy<2.1"];

async function mlflowGoLibrary(dir: string): Promise<string | undefined> {
  const found = new Bun.Glob("lib/python*/site-packages/mlflow_go_backend/libmlflow-go-backend.*").scanSync({ cwd: dir, absolute: true });
  const files = [...found];
  const lib = files.find((f) => f.endsWith(".so")) ?? files.find((f) => f.endsWith(".dylib"));
  const header = files.find((f) => f.endsWith(".h"));
  if (!lib || !header) return `mlflow_go_backend ships no library (${files.join(", ") || "none"})`;
  mkdirSync(`${dir}/golib`, { recursive: true });
  for (const [target, link] of [[lib, "libmlflow-go-backend.so"], [header, "libmlflow-go-backend.h"]] as const) {
    rmSync(`${dir}/golib/${link}`, { force: true });
    symlinkSync(target, `${dir}/golib/${link}`);
  }
  return undefined;
}

const installs = new Map<Kind, Promise<Installed>>();

/** Installs (once per run) what a server kind needs; never throws. */
export function install(kind: Kind): Promise<Installed> {
  let p = installs.get(kind);
  if (!p) {
    p = (async (): Promise<Installed> => {
      try {
        switch (kind) {
          case "mlflow-bun":
            if (!existsSync(`${ROOT}/dist/mlflow-bun`)) return { ok: false, reason: "dist/mlflow-bun missing: run `make build`" };
            return { ok: true, version: (await sh([`${ROOT}/dist/mlflow-bun`, "--version"])).out.trim().split("\n")[0] };
          case "mlflow-python":
            if (!existsSync(`${ROOT}/.venv/bin/mlflow`)) return { ok: false, reason: ".venv/bin/mlflow missing: run `make deps`" };
            return { ok: true, version: `mlflow ${(await sh([`${ROOT}/.venv/bin/python`, "-c", "import mlflow;print(mlflow.__version__)"])).out.trim()}` };
          case "fasttrackml":
            return await venv("fasttrackml", ["fasttrackml"], ["$VENV/bin/fml", "--version"]);
          case "mlflow-go":
            return await venv(
              "mlflow-go", MLFLOW_GO_PKGS,
              ["$VENV/bin/python", "-W", "ignore", "-c", "import mlflow, mlflow_go_backend.store.tracking, importlib.metadata as m;print('mlflow-go-backend', m.version('mlflow-go-backend'), '+ mlflow', mlflow.__version__)"],
              mlflowGoLibrary,
            );
          case "ceiling":
            return { ok: true, version: `bun ${Bun.version}` };
        }
      } catch (e) {
        return { ok: false, reason: String(e) };
      }
    })();
    installs.set(kind, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Databases: one fresh PostgreSQL database or SQLite file per server.

export interface Database {
  /** postgres: the database name; sqlite: the file path. */
  name: string;
  dialect: Dialect;
}

export function pgUrl(admin: string, db: string, scheme = "postgresql"): string {
  const u = new URL(admin);
  u.pathname = `/${db}`;
  return u.toString().replace(/^postgres(ql)?:/, `${scheme}:`);
}

export class Databases {
  private created: Database[] = [];
  constructor(
    readonly admin: string | undefined,
    readonly runId: string,
  ) {}

  private async adminSql<T>(f: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    if (!this.admin) throw new Error("no PostgreSQL available");
    const sql = postgres(this.admin, { max: 1, onnotice: () => {} });
    try {
      return await f(sql);
    } finally {
      await sql.end();
    }
  }

  private nameFor(server: string): string {
    return `bench_${this.runId}_${server.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}`.slice(0, 63);
  }

  async fresh(server: string, dialect: Dialect): Promise<Database> {
    const name = this.nameFor(server);
    if (dialect === "postgres") {
      await this.adminSql((sql) => sql.unsafe(`CREATE DATABASE "${name}"`));
      const db = { name, dialect };
      this.created.push(db);
      return db;
    }
    const dir = `${TMP}/${this.runId}/${name}`;
    mkdirSync(dir, { recursive: true });
    const db = { name: `${dir}/mlflow.db`, dialect };
    this.created.push(db);
    return db;
  }

  /** A copy of `source` for this server, dropped with the run's other databases. */
  async clone(server: string, source: Database): Promise<Database> {
    const name = this.nameFor(server);
    const db = await this.copy(source, source.dialect === "postgres" ? name : `${TMP}/${this.runId}/${name}/mlflow.db`);
    this.created.push(db);
    return db;
  }

  /**
   * A copy of `source` named `target` (a database name, or a file path) that outlives the run:
   * CREATE DATABASE … TEMPLATE, or a copy of the SQLite files. Nobody may be connected to `source`.
   */
  async copy(source: Database, target: string): Promise<Database> {
    if (source.dialect === "postgres") {
      await this.adminSql(async (sql) => {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${target}"`);
        await sql.unsafe(`CREATE DATABASE "${target}" TEMPLATE "${source.name}"`);
      });
      return { name: target, dialect: source.dialect };
    }
    mkdirSync(dirname(target), { recursive: true });
    for (const suffix of ["", "-wal", "-shm"]) if (existsSync(source.name + suffix)) copyFileSync(source.name + suffix, target + suffix);
    return { name: target, dialect: source.dialect };
  }

  async exists(db: Database): Promise<boolean> {
    if (db.dialect === "sqlite") return existsSync(db.name);
    if (!this.admin) return false;
    return this.adminSql(async (sql) => (await sql`SELECT 1 FROM pg_database WHERE datname = ${db.name}`).length > 0);
  }

  url(db: Database, scheme = "postgresql"): string {
    return db.dialect === "postgres" ? pgUrl(this.admin!, db.name, scheme) : `sqlite:///${db.name}`;
  }

  async dropAll(): Promise<void> {
    for (const db of this.created) {
      if (db.dialect === "postgres") await this.adminSql((sql) => sql.unsafe(`DROP DATABASE IF EXISTS "${db.name}" WITH (FORCE)`)).catch(() => {});
    }
    rmSync(`${TMP}/${this.runId}`, { recursive: true, force: true });
    this.created = [];
  }
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = s.port!;
  s.stop(true);
  return port;
}

export interface Running {
  spec: ServerSpec;
  url: string;
  pid: number;
  /** ms from spawn to the first 2xx answer of GET /health. */
  firstHealthMs: number;
  rss: RssSampler;
  logFile: string;
  stop(): Promise<void>;
}

function command(spec: ServerSpec, dbs: Databases, db: Database | undefined, port: number, dir: string): { cmd: string[]; env: Record<string, string> } {
  const artifacts = `${dir}/artifacts`;
  mkdirSync(artifacts, { recursive: true });
  switch (spec.kind) {
    case "mlflow-bun":
      return {
        cmd: [`${ROOT}/dist/mlflow-bun`, "--host", "127.0.0.1", "--port", String(port), "--backend-store-uri", dbs.url(db!), "--artifacts-destination", artifacts],
        env: {},
      };
    case "mlflow-python": {
      const cmd = [`${ROOT}/.venv/bin/mlflow`, "server", "--host", "127.0.0.1", "--port", String(port), "--backend-store-uri", dbs.url(db!), "--artifacts-destination", artifacts];
      if (spec.workers) cmd.push("--workers", String(spec.workers));
      return { cmd, env: {} };
    }
    case "fasttrackml": {
      const uri = db!.dialect === "postgres" ? dbs.url(db!, "postgres") : `sqlite://${db!.name}`;
      return {
        cmd: [`${VENVS}/fasttrackml/bin/fml`, "server", "--database-uri", uri, "--listen-address", `127.0.0.1:${port}`, "--default-artifact-root", artifacts],
        env: {},
      };
    }
    case "mlflow-go":
      return {
        cmd: [`${VENVS}/mlflow-go/bin/mlflow-go`, "server", "--host", "127.0.0.1", "--port", String(port), "--backend-store-uri", dbs.url(db!), "--artifacts-destination", artifacts],
        // it starts `mlflow server` (from PATH) on a private port behind the Go server
        env: { PATH: `${VENVS}/mlflow-go/bin:${process.env.PATH}`, MLFLOW_GO_LIBRARY_PATH: `${VENVS}/mlflow-go/golib` },
      };
    case "ceiling":
      return { cmd: [BUN, `${BENCH}/ceiling.ts`, String(port)], env: {} };
  }
}

/** Starts a server and waits for its first 2xx /health; throws with the log's tail on failure. */
export async function start(spec: ServerSpec, dbs: Databases, db: Database | undefined, timeoutMs = 300_000): Promise<Running> {
  const port = await freePort();
  const dir = `${TMP}/${dbs.runId}/proc-${spec.name.replace(/[^a-z0-9]+/gi, "_")}`;
  mkdirSync(dir, { recursive: true });
  const logFile = `${dir}/server-${Date.now()}.log`;
  const { cmd, env } = command(spec, dbs, db, port, dir);
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd: dir,
    env: { ...process.env, ...env },
    stdout: Bun.file(logFile),
    stderr: Bun.file(logFile),
  });
  const url = `http://127.0.0.1:${port}`;
  const rss = new RssSampler(proc.pid);
  const stop = async () => {
    rss.stop();
    if (proc.exitCode !== null) return;
    // Python and mlflow-go fork children: signal the whole tree we started.
    const pids = tree(proc.pid);
    for (const p of pids) try { process.kill(p, "SIGTERM"); } catch {}
    const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    for (const p of done ? pids.slice(1) : pids) try { process.kill(p, "SIGKILL"); } catch {}
    await Bun.sleep(200);
  };
  while (true) {
    if (proc.exitCode !== null) {
      rss.stop();
      throw new Error(`exited with ${proc.exitCode}: ${tail(logFile)}`);
    }
    if (performance.now() - t0 > timeoutMs) {
      await stop();
      throw new Error(`no 2xx from /health within ${timeoutMs / 1000}s: ${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {}
    await Bun.sleep(10);
  }
  const firstHealthMs = performance.now() - t0;
  return { spec, url, pid: proc.pid, firstHealthMs, rss, logFile, stop };
}

function tail(file: string): string {
  try {
    return lastLine(readFileSync(file, "utf8")).replace(/\s+/g, " ");
  } catch {
    return "(no log)";
  }
}

export { join };
