// The floor's side of a run: its database (mlflow-bun's schema and 64 runs, made by a
// short-lived mlflow-bun) and one window of bench/floor.ts, run as a child like a load generator.
import { mkdirSync } from "node:fs";
import { BENCH, BUN, type Databases, start } from "./servers";
import type { Workload } from "./workloads";
import { type LoadResult, parse } from "./wrk";

export interface FloorDb {
  url: string;
  experimentId: string;
  runs: string[];
}

export async function setupFloor(dbs: Databases): Promise<FloorDb> {
  const db = await dbs.fresh("floor", "postgres");
  const r = await start({ name: "floor-setup", kind: "mlflow-bun", dialect: "postgres" }, dbs, db);
  try {
    const post = async (path: string, body: unknown) =>
      (await (await fetch(`${r.url}/api/2.0/mlflow${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } })).json()) as any;
    const experimentId = (await post("/experiments/create", { name: "floor" })).experiment_id;
    const runs: string[] = [];
    for (let i = 0; i < 64; i++) runs.push((await post("/runs/create", { experiment_id: experimentId, start_time: Date.now() })).run.info.run_id);
    return { url: dbs.url(db, "postgres"), experimentId, runs };
  } finally {
    await r.stop();
  }
}

/** One window of the floor for workload `w`; the first error line, if any, as errorDetail. */
export async function runFloor(floor: FloorDb, w: Workload, seconds: number, scriptDir: string): Promise<LoadResult> {
  const cfg = {
    dbUrl: floor.url, kind: w.floor, concurrency: w.concurrency, seconds,
    experimentId: floor.experimentId, runs: floor.runs, metrics: w.floorItems?.metrics ?? 1, params: w.floorItems?.params ?? 0,
  };
  const file = `${scriptDir}/floor-${w.name.replace(/[^a-z0-9]+/gi, "_")}.json`;
  mkdirSync(scriptDir, { recursive: true });
  await Bun.write(file, JSON.stringify(cfg));
  const p = Bun.spawn([BUN, `${BENCH}/floor.ts`, file], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  const r = parse(out + err, "bun-loadgen");
  if (r.errors) r.errorDetail = err.trim().split("\n")[0];
  return r;
}
