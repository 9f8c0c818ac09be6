// Set-up for the browser test: Chromium (installed with apt when missing), the two servers on
// one fresh database, the seed, and a recorder of the requests the UI makes.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Page, Request } from "playwright-core";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const OUT = join(ROOT, ".test-tmp", "browser");
const PYTHON_BIN = join(ROOT, ".venv", "bin");

// ------------------------------------------------------------------------------- Chromium

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function run(cmd: string[], env: Record<string, string> = {}): { ok: boolean; output: string } {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", env: { ...process.env, ...env } });
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

const tail = (text: string, n = 5) => text.trim().split("\n").slice(-n).join(" / ");

/**
 * Debian's chromium: its path, or why the browser test must be skipped. Installs it with
 * `apt-get install -y chromium` when it is missing and apt is usable (root, or passwordless
 * sudo); MLFLOW_BUN_CHROMIUM names another binary; MLFLOW_BUN_BROWSER_NO_INSTALL=1 never installs.
 */
export function ensureChromium(): { path: string } | { skip: string } {
  const wanted = process.env.MLFLOW_BUN_CHROMIUM;
  if (wanted) return existsSync(wanted) ? { path: wanted } : { skip: `MLFLOW_BUN_CHROMIUM=${wanted} does not exist` };
  const path = "/usr/bin/chromium";
  if (existsSync(path)) return { path };
  if (process.env.MLFLOW_BUN_BROWSER_NO_INSTALL === "1") return { skip: `${path} is missing and MLFLOW_BUN_BROWSER_NO_INSTALL=1` };
  if (!run(["sh", "-c", "command -v apt-get"]).ok) return { skip: `${path} is missing and apt-get is not available to install it` };
  const sudo = process.getuid?.() === 0 ? [] : run(["sudo", "-n", "true"]).ok ? ["sudo", "-n"] : undefined;
  if (!sudo) return { skip: `${path} is missing and apt-get needs root (not root, no passwordless sudo)` };
  const apt = [...sudo, "apt-get", "-o", "DPkg::Lock::Timeout=300", "-y"];
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  process.stderr.write(`[browser] ${path} is missing: apt-get install -y chromium\n`);
  let r = run([...apt, "install", "chromium"], env);
  if (!r.ok) {
    // A stale or empty package index: refresh it once and retry.
    run([...apt, "update"], env);
    r = run([...apt, "install", "chromium"], env);
  }
  if (!r.ok || !existsSync(path)) return { skip: `apt-get install -y chromium failed: ${tail(r.output)}` };
  return { path };
}

// -------------------------------------------------------------------------------- servers

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Proc {
  url: string;
  log: string;
  stop(): Promise<void>;
}

/** Environment variables that would change what either server does. */
const LEAKS = [
  "MLFLOW_BUN_PYTHON_URL", "MLFLOW_BACKEND_STORE_URI", "MLFLOW_DEFAULT_ARTIFACT_ROOT", "MLFLOW_ARTIFACTS_DESTINATION",
  "MLFLOW_SERVE_ARTIFACTS", "MLFLOW_STATIC_PREFIX", "MLFLOW_HOST", "MLFLOW_PORT", "MLFLOW_TRACKING_URI",
];

function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !LEAKS.includes(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Starts cmd in its own process group (stop() ends the group: uvicorn's worker too) and waits for /health. */
async function startProcess(name: string, cmd: string[], env: Record<string, string>, cwd: string, port: number, timeoutMs: number): Promise<Proc> {
  const log = join(cwd, `${name}.log`);
  const fd = openSync(log, "w");
  const child: ChildProcess = spawn(cmd[0], cmd.slice(1), { cwd, env, detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once("exit", (code) => (exited = code));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.pid === undefined) return;
    const pgid = child.pid;
    const alive = () => {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (!alive()) return;
    process.kill(-pgid, "SIGTERM");
    for (let i = 0; i < 150 && alive(); i++) await Bun.sleep(100);
    if (alive()) process.kill(-pgid, "SIGKILL");
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`${name} exited (${exited}) before answering /health:\n${readFileSync(log, "utf8").slice(-3000)}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, log, stop };
    } catch {}
    await Bun.sleep(200);
  }
  await stop();
  throw new Error(`${name} did not answer /health within ${timeoutMs / 1000}s:\n${readFileSync(log, "utf8").slice(-3000)}`);
}

export interface Servers {
  bun: Proc;
  python: Proc;
  stop(): Promise<void>;
}

/**
 * mlflow-bun (node_modules/.bin/bun src/cli.ts, or $MLFLOW_BUN_BINARY) proxying to a real
 * `mlflow server --workers 1`, both on one database and one artifacts directory. mlflow-bun
 * starts first and creates MLflow's schema; Python then finds the database at its head.
 */
export async function startServers(workdir: string, bunBackend: string, pythonBackend: string): Promise<Servers> {
  mkdirSync(workdir, { recursive: true });
  const artifacts = join(workdir, "mlartifacts");
  const [bunPort, pythonPort] = [await freePort(), await freePort()];
  const pythonUrl = `http://127.0.0.1:${pythonPort}`;
  const bunCmd = process.env.MLFLOW_BUN_BINARY ? [process.env.MLFLOW_BUN_BINARY] : [join(ROOT, "node_modules", ".bin", "bun"), join(ROOT, "src", "cli.ts")];
  const bun = await startProcess(
    "mlflow-bun",
    [...bunCmd, "--host", "127.0.0.1", "--port", String(bunPort), "--backend-store-uri", bunBackend,
      "--artifacts-destination", artifacts, "--python-url", pythonUrl],
    cleanEnv(), workdir, bunPort, 30_000,
  );
  let python: Proc;
  try {
    python = await startProcess(
      "mlflow-python",
      [join(PYTHON_BIN, "mlflow"), "server", "--host", "127.0.0.1", "--port", String(pythonPort), "--workers", "1",
        "--backend-store-uri", pythonBackend, "--artifacts-destination", artifacts],
      cleanEnv({ MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false", PATH: `${PYTHON_BIN}:${process.env.PATH ?? ""}` }),
      workdir, pythonPort, 120_000,
    );
  } catch (e) {
    await bun.stop();
    throw e;
  }
  return { bun, python, stop: async () => void (await Promise.all([bun.stop(), python.stop()])) };
}

export interface Seeded {
  experiments: { alpha: string; beta: string };
  run_id: string;
  run_name: string;
  other_run_id: string;
  beta_run_id: string;
  artifact_path: string;
  artifact_text: string;
  model: string;
  versions: string[];
  alias: string;
}

/** test/browser/seed.py through mlflow-bun, with the real mlflow client. */
export function seed(trackingUrl: string): Seeded {
  const r = spawnSync(join(PYTHON_BIN, "python"), [join(ROOT, "test", "browser", "seed.py"), trackingUrl], {
    encoding: "utf8",
    env: cleanEnv(),
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`seed.py failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const last = r.stdout.trim().split("\n").at(-1)!;
  return JSON.parse(last) as Seeded;
}

// ------------------------------------------------------------------------ request recorder

export interface Recorded {
  page: string;
  method: string;
  /** Path and query, on mlflow-bun's origin. */
  path: string;
  postData: string | null;
  contentType: string | null;
  /** HTTP status, or undefined when the request failed without a response. */
  status?: number;
  failure?: string;
  /** "python" when the response carries uvicorn's Server header (the request was proxied). */
  servedBy?: "native" | "python";
  /** The start of the response body. */
  body?: string;
}

/** Records every fetch/XHR the UI sends to origin, tagged with the page being visited. */
export class Recorder {
  readonly all: Recorded[] = [];
  private inflight = new Map<Request, Recorded>();
  current = "";

  constructor(page: Page, private origin: string) {
    page.on("request", (req) => {
      if (!["fetch", "xhr"].includes(req.resourceType()) || !req.url().startsWith(this.origin)) return;
      const u = new URL(req.url());
      const rec: Recorded = {
        page: this.current,
        method: req.method(),
        path: u.pathname + u.search,
        postData: req.postData(),
        contentType: req.headers()["content-type"] ?? null,
      };
      this.all.push(rec);
      this.inflight.set(req, rec);
    });
    page.on("requestfinished", async (req) => {
      const rec = this.inflight.get(req);
      if (!rec) return;
      const res = await req.response();
      if (res) {
        rec.status = res.status();
        const server = (await res.allHeaders())["server"] ?? "";
        rec.servedBy = /uvicorn|gunicorn|werkzeug/i.test(server) ? "python" : "native";
        rec.body = await res.text().then((t) => t.slice(0, 300), (e) => `(body unavailable: ${e})`);
      }
      this.inflight.delete(req);
    });
    page.on("requestfailed", (req) => {
      const rec = this.inflight.get(req);
      if (!rec) return;
      rec.failure = req.failure()?.errorText ?? "failed";
      this.inflight.delete(req);
    });
  }

  /** Waits until no request has been in flight for quietMs (giving up after maxMs). */
  async settle(quietMs = 700, maxMs = 20_000): Promise<void> {
    const deadline = Date.now() + maxMs;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      if (this.inflight.size > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= quietMs) return;
      await Bun.sleep(100);
    }
  }
}
