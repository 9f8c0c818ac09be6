// --workers N as a user runs it: N processes share one port (SO_REUSEPORT), each answering on its
// own connections and its own database connection; one dying stops them all with a non-zero exit;
// SIGTERM stops them all with 0. Linux: which process holds a connection is read from /proc.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const CLI = process.env.MLFLOW_BUN_BINARY ? [resolve(process.env.MLFLOW_BUN_BINARY)] : [process.execPath, join(ROOT, "src/cli.ts")];

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "mlflow-bun-workers-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("MLFLOW_")) env[k] = v;
  return env;
}

interface Started {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  banner: string;
  stderr(): string;
}

async function start(args: string[]): Promise<Started> {
  const proc = Bun.spawn([...CLI, ...args], { cwd: dir, env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let stderr = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const c of proc.stderr as unknown as AsyncIterable<Uint8Array>) stderr += decoder.decode(c);
  })();
  let stdout = "";
  for await (const c of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
    stdout += decoder.decode(c);
    const m = /^(mlflow-bun listening on (http:\/\/\S+) .*)$/m.exec(stdout);
    if (m) return { proc, url: m[2]!, banner: m[1]!, stderr: () => stderr };
  }
  throw new Error(`exited (${await proc.exited}) before listening:\n${stdout}\n${stderr}`);
}

/** The processes whose parent is pid (from /proc/<pid>/stat). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {} // gone meanwhile
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
};

async function gone(pid: number): Promise<void> {
  while (alive(pid)) await Bun.sleep(20);
}

/** Socket inodes a process holds open. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {}
  }
  return out;
}

/** Inodes of the server side of established connections on 127.0.0.1:port. */
function serverSideInodes(port: number): Set<string> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const out = new Set<string>();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === "01") out.add(f[9]!);
  }
  return out;
}

/** Opens a keep-alive connection and completes one request on it; the connection stays open. */
function openConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    socket.once("data", () => resolve(socket));
    socket.once("error", reject);
  });
}

describe("--workers 2", () => {
  test("both workers serve one port and one SQLite database", async () => {
    const s = await start(["--port", "0", "--workers", "2", "--backend-store-uri", `sqlite:///${join(dir, "shared.db")}`]);
    try {
      expect(s.banner).toMatch(/^mlflow-bun listening on http:\/\/127\.0\.0\.1:\d+ \(\d+ native routes; .*; 2 workers\)$/);
      const workers = childrenOf(s.proc.pid);
      expect(workers).toHaveLength(2);
      const port = Number(new URL(s.url).port);
      const sockets = await Promise.all(Array.from({ length: 24 }, () => openConnection(port)));
      try {
        const ours = serverSideInodes(port);
        const perWorker = workers.map((pid) => [...socketInodes(pid)].filter((inode) => ours.has(inode)).length);
        // The kernel spreads connections over the two listeners; each took some of the 24.
        expect(perWorker.every((n) => n > 0)).toBe(true);
        expect(perWorker.reduce((a, b) => a + b, 0)).toBe(24);
      } finally {
        for (const socket of sockets) socket.destroy();
      }
      // Writes through both workers (a new connection each) land in the one database.
      const names = Array.from({ length: 16 }, (_, i) => `w-${i}`);
      const created = await Promise.all(
        names.map((name) =>
          fetch(`${s.url}/api/2.0/mlflow/experiments/create`, { method: "POST", headers: { "content-type": "application/json", connection: "close" }, body: JSON.stringify({ name }) }),
        ),
      );
      expect(created.map((r) => r.status)).toEqual(names.map(() => 200));
      const found: any = await (await fetch(`${s.url}/api/2.0/mlflow/experiments/search?max_results=100`)).json();
      expect(found.experiments.map((e: any) => e.name).sort()).toEqual(["Default", ...names].sort());

      process.kill(s.proc.pid, "SIGTERM");
      expect(await s.proc.exited).toBe(0);
      for (const pid of workers) await gone(pid);
      expect(s.stderr()).toBe("");
    } finally {
      s.proc.kill("SIGKILL");
    }
  }, 60_000);

  test("when one worker dies, the other is stopped and the server exits non-zero", async () => {
    const s = await start(["--port", "0", "-w", "2", "--backend-store-uri", `sqlite:///${join(dir, "die.db")}`]);
    try {
      const [victim, survivor] = childrenOf(s.proc.pid);
      expect(survivor).toBeDefined();
      process.kill(victim!, "SIGKILL");
      expect(await s.proc.exited).not.toBe(0);
      await gone(survivor!);
      await expect(fetch(`${s.url}/health`)).rejects.toThrow();
    } finally {
      s.proc.kill("SIGKILL");
    }
  }, 60_000);

  test("a worker that cannot start fails the whole server with its one error line", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
    try {
      const proc = Bun.spawn([...CLI, "--port", String(taken.port), "--workers", "2", "--backend-store-uri", `sqlite:///${join(dir, "busy.db")}`], {
        cwd: dir,
        env: cleanEnv(),
        stdout: "pipe",
        stderr: "pipe",
      });
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      expect(code).toBe(1);
      const lines = stderr.split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith("Error:");
      expect(childrenOf(proc.pid)).toEqual([]);
    } finally {
      taken.stop(true);
    }
  }, 60_000);
});
