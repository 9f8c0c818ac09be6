// A short soak (bench/soak.ts; `make soak` is the long one): mixed read/write load for a few
// seconds per dialect; every call answers 2xx, RSS, open file descriptors and PostgreSQL
// connections stay flat after the warm-up, and the server exits 0 on SIGTERM.
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { runSoak, type Dialect } from "../../bench/soak";
import { ensureAdminUrl } from "../support/postgres";

const ROOT = resolve(import.meta.dir, "../..");
const COMMAND = process.env.MLFLOW_BUN_BINARY ? [resolve(process.env.MLFLOW_BUN_BINARY)] : [process.execPath, `${ROOT}/src/cli.ts`];
const SECONDS = 12;

for (const dialect of ["postgres", "sqlite"] as Dialect[]) {
  test(`${SECONDS} s of mixed load on ${dialect}: no errors, resources flat`, async () => {
    if (dialect === "postgres") await ensureAdminUrl();
    const r = await runSoak({ dialect, seconds: SECONDS, clients: 8, sampleEveryMs: 200, warmupSeconds: 4, command: COMMAND });
    expect(r.load.requests).toBeGreaterThan(100);
    expect(r.failures).toEqual([]);
    if (dialect === "postgres") expect(r.pgConnectionsMax).toBeLessThanOrEqual(r.poolSize!);
  }, 60_000);
}
