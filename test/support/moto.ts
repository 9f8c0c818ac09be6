// moto in server mode (.venv/bin/moto_server): a real S3-compatible endpoint for the artifact
// tests, started on a free port and stopped by the test that needs it.
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { signedRequest } from "../../src/store/artifacts/sigv4";

const BINARY = join(resolve(import.meta.dir, "../.."), ".venv/bin/moto_server");

export const MOTO_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing", region: "us-east-1" };

export interface Moto {
  endpoint: string;
  /** The environment MLflow (and mlflow-bun) read S3 settings from. */
  env: Record<string, string>;
  createBucket(name: string): Promise<void>;
  stop(): void;
}

/** Why moto cannot run here, or undefined. */
export function motoUnavailable(): string | undefined {
  return existsSync(BINARY) ? undefined : `${BINARY} not found (pip install 'moto[server]' into .venv)`;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => done(port));
    });
  });
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const proc = Bun.spawn([BINARY, "-H", "127.0.0.1", "-p", String(port)], { stdout: "ignore", stderr: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {}
    if (proc.exitCode !== null || i > 600) throw new Error(`moto_server did not start on ${endpoint}`);
    await Bun.sleep(50);
  }
  return {
    endpoint,
    env: {
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_DEFAULT_REGION: MOTO_CREDENTIALS.region,
      MLFLOW_S3_ENDPOINT_URL: endpoint,
    },
    async createBucket(name) {
      const res = await fetch(signedRequest(MOTO_CREDENTIALS, "PUT", new URL(`${endpoint}/${name}`), {}));
      if (!res.ok) throw new Error(`create bucket ${name}: ${res.status} ${await res.text()}`);
    },
    stop() {
      proc.kill();
    },
  };
}
