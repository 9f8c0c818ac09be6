// Peak memory of the server while it streams a 1 GiB artifact in (PUT) and out (GET) through
// the mlflow-artifacts API: starts mlflow-bun as a child process on a throwaway SQLite database
// and local destination, and prints the server's peak RSS (VmHWM). Not run by the tests.
//   node_modules/.bin/bun bench/artifact-rss.ts [size in MiB, default 1024]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1024);
const root = resolve(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "mlflow-bun-rss-"));
const port = 20000 + Math.floor(Math.random() * 20000);
const server = Bun.spawn(
  [process.execPath, join(root, "src/cli.ts"), "--port", String(port), "--backend-store-uri", `sqlite:///${join(dir, "mlflow.db")}`, "--artifacts-destination", join(dir, "dest")],
  { stdout: "ignore", stderr: "inherit" },
);
const base = `http://127.0.0.1:${port}`;

/** The server's RSS now and at its peak, from /proc (Linux). */
function rss(): { now: number; peak: number } {
  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) * 1024;
  return { now: kb("VmRSS"), peak: kb("VmHWM") };
}
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {}
    if (i > 300) throw new Error("server did not start");
    await Bun.sleep(100);
  }
  const idle = rss();
  const chunk = new Uint8Array(MiB).map((_, i) => i % 251);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent++ < sizeMiB) c.enqueue(chunk);
      else c.close();
    },
  });
  let t = performance.now();
  const put = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/bench/blob.bin`, {
    method: "PUT",
    body,
    headers: { "content-length": String(sizeMiB * MiB) },
    duplex: "half",
  } as RequestInit);
  if (put.status !== 200) throw new Error(`upload: ${put.status} ${await put.text()}`);
  const afterUpload = rss();
  const upSeconds = (performance.now() - t) / 1000;

  t = performance.now();
  const res = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/bench/blob.bin`);
  let received = 0;
  for await (const part of res.body!) received += part.length;
  if (received !== sizeMiB * MiB) throw new Error(`download: ${received} bytes`);
  const downSeconds = (performance.now() - t) / 1000;
  const end = rss();

  console.log(`artifact: ${mib(sizeMiB * MiB)}`);
  console.log(`server RSS idle:            ${mib(idle.now)}`);
  console.log(`server peak after upload:   ${mib(afterUpload.peak)} (${upSeconds.toFixed(1)} s)`);
  console.log(`server peak after download: ${mib(end.peak)} (${downSeconds.toFixed(1)} s)`);
  console.log(`peak RSS: ${mib(end.peak)}`);
} finally {
  server.kill();
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
}
