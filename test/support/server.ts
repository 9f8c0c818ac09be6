// An in-process mlflow-bun on a fresh database of either dialect, for integration tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS, resolveArtifactRoot, type Config } from "../../src/config";
import { startServer } from "../../src/main";
import { freshDatabase } from "./postgres";

export type Dialect = "sqlite" | "postgres";
export const DIALECTS: Dialect[] = ["sqlite", "postgres"];

export interface TestServer {
  url: string;
  backendStoreUri: string;
  /** POST/GET helper: returns status and parsed JSON (or text). */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startTestServer(dialect: Dialect, overrides: Partial<Config> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "mlflow-bun-test-"));
  const pg = dialect === "postgres" ? await freshDatabase() : undefined;
  const backendStoreUri = pg ? pg.uri : `sqlite:///${join(dir, "mlflow.db")}`;
  const config: Config = {
    ...DEFAULTS,
    host: "127.0.0.1",
    port: 0,
    backendStoreUri,
    defaultArtifactRoot: resolveArtifactRoot(undefined, true),
    artifactsDestination: join(dir, "mlartifacts"),
    artifactsOnly: false,
    ...overrides,
  };
  const server = await startServer(config, { signals: false, quiet: true });
  return {
    url: server.url,
    backendStoreUri,
    async call(method, path, body) {
      const init: RequestInit = { method };
      let target = server.url + path;
      if (body !== undefined && method === "GET") {
        const qs = new URLSearchParams();
        for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
          for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
        }
        target += `?${qs}`;
      } else if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        init.headers = { "content-type": "application/json" };
      }
      const res = await fetch(target, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed };
    },
    async stop() {
      await server.stop();
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
