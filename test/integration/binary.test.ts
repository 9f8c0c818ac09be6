// The compiled binary is the whole product: copied alone into an empty folder (no node_modules,
// no sources) it serves the API on the embedded SQLite default and the docs with their assets.
// Runs when $MLFLOW_BUN_BINARY names it (test/run.ts sets it after `make build`).
import { expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const binary = process.env.MLFLOW_BUN_BINARY;

/** The URL the server's banner announces on stdout. */
async function listeningUrl(proc: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<string> {
  let out = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
    out += decoder.decode(chunk);
    if (/listening on/.test(out)) break;
  }
  return /listening on (http:\/\/\S+)/.exec(out)![1]!;
}

test.skipIf(!binary)("the binary runs from an empty folder and serves API, docs and assets", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlflow-bun-empty-"));
  const exe = join(dir, "mlflow-bun");
  copyFileSync(resolve(binary!), exe);
  const env: Record<string, string> = { PATH: "/usr/bin:/bin", HOME: dir };
  const proc = Bun.spawn([exe, "--port", "0"], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
  try {
    const url = await listeningUrl(proc);
    const exp = await fetch(`${url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(exp.status).toBe(200);
    expect(((await exp.json()) as any).experiment.name).toBe("Default");
    for (const path of ["/swagger", "/swagger/json", "/swagger/swagger-ui-bundle.js", "/swagger/swagger-ui.css"]) {
      const res = await fetch(url + path);
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(500);
    }
    expect(existsSync(join(dir, "mlflow.db"))).toBe(true); // sqlite:///mlflow.db, the default
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

/** The binary's environment as the kernel has it (after any restart in place). */
function environOf(pid: number): Record<string, string> {
  const text = readFileSync(`/proc/${pid}/environ`, "utf8");
  return Object.fromEntries(text.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
}

test.skipIf(!binary || process.platform !== "linux")("the binary restarts itself in place with its heap setting, unless one is set", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mlflow-bun-heap-"));
  try {
    for (const preset of [undefined, "1073741824"]) {
      const env: Record<string, string> = { PATH: "/usr/bin:/bin", HOME: dir };
      if (preset) env.BUN_JSC_forceRAMSize = preset;
      const proc = Bun.spawn([resolve(binary!), "--port", "0", "--backend-store-uri", "sqlite:///heap.db"], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
      try {
        const url = await listeningUrl(proc);
        expect((await fetch(`${url}/health`)).status).toBe(200);
        // the process that serves is the one spawned (same pid), now with the setting
        expect(environOf(proc.pid).BUN_JSC_forceRAMSize).toBe(preset ?? String(2 * 2 ** 30));
      } finally {
        proc.kill("SIGTERM");
        expect(await proc.exited).toBe(0);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
