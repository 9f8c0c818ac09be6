// Graceful shutdown of the binary as a process manager sends it: on SIGTERM the listener closes
// (new connections are refused), every request already being served completes with its answer,
// and the process exits 0. The slow request is an artifact upload whose body the test holds
// back: its staging file on disk proves the handler is mid-request when the signal arrives.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freshDatabase } from "../support/postgres";

const ROOT = resolve(import.meta.dir, "../..");
const CLI = process.env.MLFLOW_BUN_BINARY ? [resolve(process.env.MLFLOW_BUN_BINARY)] : [process.execPath, join(ROOT, "src/cli.ts")];
const CHUNK = 256 * 1024;

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "mlflow-bun-shutdown-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("MLFLOW_")) env[k] = v;
  return env;
}

async function start(args: string[], cwd: string): Promise<{ proc: ReturnType<typeof Bun.spawn>; port: number; stderr(): string }> {
  const proc = Bun.spawn([...CLI, "--host", "127.0.0.1", "--port", "0", ...args], { cwd, env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let stderr = "";
  void (async () => {
    for await (const c of proc.stderr as unknown as AsyncIterable<Uint8Array>) stderr += new TextDecoder().decode(c);
  })();
  let stdout = "";
  for await (const c of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
    stdout += new TextDecoder().decode(c);
    const m = /mlflow-bun listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
    if (m) return { proc, port: Number(m[1]), stderr: () => stderr };
  }
  throw new Error(`exited (${await proc.exited}) before listening:\n${stdout}\n${stderr}`);
}

/** What a raw HTTP/1.1 exchange on a fresh connection produced. */
interface Exchange {
  /** Bytes of answer received (0: refused or closed before any answer). */
  received: number;
  status?: number;
  /** The whole body arrived (as many bytes as Content-Length says). */
  complete: boolean;
  error?: string;
  body: string;
}

function parse(raw: Buffer, error?: string): Exchange {
  const head = raw.indexOf("\r\n\r\n");
  if (head < 0) return { received: raw.length, complete: false, error, body: "" };
  const headers = raw.subarray(0, head).toString("latin1");
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? NaN);
  const body = raw.subarray(head + 4);
  return { received: raw.length, status: Number(headers.split(" ")[1]), complete: body.length === length, error, body: body.toString() };
}

/** Sends `head` (+ `body`), then returns the socket and a promise of the whole exchange. */
function exchange(port: number, head: string, body?: Uint8Array): { socket: Socket; done: Promise<Exchange> } {
  const socket = connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  const done = new Promise<Exchange>((resolve) => {
    let error: string | undefined;
    socket.on("connect", () => {
      socket.write(head);
      if (body) socket.write(body);
    });
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on("close", () => resolve(parse(Buffer.concat(chunks), error)));
  });
  return { socket, done };
}

/** Whether a new connection to the port is refused (the listener is closed). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("connect", () => (s.destroy(), resolve(false)));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await Bun.sleep(10);
  }
  throw new Error(`gave up waiting until ${what}`);
}

const stagingFile = (artifactDir: string): string | undefined => {
  try {
    return readdirSync(artifactDir).find((f) => f.startsWith(".artifact.uploading."));
  } catch {
    return undefined;
  }
};

function jsonRequest(path: string, body: unknown): string {
  const text = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

async function call(port: number, path: string, body: unknown): Promise<any> {
  const r = await exchange(port, jsonRequest(path, body)).done;
  expect(r.status).toBe(200);
  return JSON.parse(r.body);
}

for (const mode of ["sqlite", "postgres", "sqlite --workers 2"] as const) {
  describe(`SIGTERM (${mode})`, () => {
    test("the in-flight upload completes with 200, new connections are refused, the exit code is 0", async () => {
      const work = mkdtempSync(join(dir, "upload-"));
      const pg = mode === "postgres" ? await freshDatabase() : undefined;
      const uri = pg?.uri ?? `sqlite:///${join(work, "mlflow.db")}`;
      const workers = mode.endsWith("--workers 2") ? ["--workers", "2"] : [];
      const s = await start(["--backend-store-uri", uri, "--artifacts-destination", join(work, "artifacts"), ...workers], work);
      try {
        const data = new Uint8Array(2 * CHUNK).map((_, i) => i % 251);
        const upload = exchange(
          s.port,
          `PUT /api/2.0/mlflow-artifacts/artifacts/slow/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${data.length}\r\n\r\n`,
          data.subarray(0, CHUNK),
        );
        const slowDir = join(work, "artifacts", "slow");
        await until("the upload's first half is on disk", () => {
          const f = stagingFile(slowDir);
          return f !== undefined && statSync(join(slowDir, f)).size >= CHUNK;
        });
        s.proc.kill("SIGTERM");
        await until("new connections are refused", () => refused(s.port));
        upload.socket.write(data.subarray(CHUNK)); // the rest of the in-flight request's body
        const answer = await upload.done;
        expect({ status: answer.status, complete: answer.complete, error: answer.error }).toEqual({ status: 200, complete: true, error: undefined });
        expect(await s.proc.exited).toBe(0);
        expect(new Uint8Array(readFileSync(join(slowDir, "big.bin")))).toEqual(data);
        expect(s.stderr()).toBe("");
      } finally {
        s.proc.kill("SIGKILL");
        await pg?.drop();
      }
    }, 60_000);

    test("under load: every request is answered whole or refused before any answer, never cut", async () => {
      const work = mkdtempSync(join(dir, "load-"));
      const pg = mode === "postgres" ? await freshDatabase() : undefined;
      const uri = pg?.uri ?? `sqlite:///${join(work, "mlflow.db")}`;
      const workers = mode.endsWith("--workers 2") ? ["--workers", "2"] : [];
      const s = await start(["--backend-store-uri", uri, ...workers], work);
      try {
        const run = await call(s.port, "/api/2.0/mlflow/runs/create", { experiment_id: "0" });
        const runId = run.run.info.run_id;
        const exchanges: Exchange[] = [];
        let signalled = false;
        const client = async (c: number) => {
          // Each client stops at its first request that got no answer at all (the listener is
          // gone); bounded in count in case the server never stops listening.
          for (let i = 0; i < 2000; i++) {
            const metrics = Array.from({ length: 200 }, (_, k) => ({ key: `m${k % 10}`, value: c + k / 7, timestamp: 1000 + i, step: k }));
            const r = await exchange(s.port, jsonRequest("/api/2.0/mlflow/runs/log-batch", { run_id: runId, metrics })).done;
            exchanges.push(r);
            if (r.received === 0) return;
          }
        };
        const clients = Promise.all(Array.from({ length: 24 }, (_, c) => client(c)));
        await until("40 batches are logged", () => exchanges.filter((e) => e.status === 200).length >= 40);
        s.proc.kill("SIGTERM");
        signalled = true;
        await clients;
        expect(signalled).toBe(true);
        const cut = exchanges.filter((e) => e.received > 0 && !(e.status === 200 && e.complete));
        expect(cut).toEqual([]);
        expect(exchanges.filter((e) => e.received === 0).length).toBe(24); // each client's last
        expect(await s.proc.exited).toBe(0);
        expect(s.stderr()).toBe("");
      } finally {
        s.proc.kill("SIGKILL");
        await pg?.drop();
      }
    }, 60_000);
  });
}
