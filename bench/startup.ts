// Quiet starts: after the workloads, each server alone on the machine, started a few times on
// its loaded database — the time to its first 2xx /health (median) and what it holds once idle.
// Starts during the run (after building, after cloning) share the machine with other servers
// and PostgreSQL's checkpoints, so they are reported, but the targets are read from these.
import { rssNowMb } from "./rss";
import { type Database, type Databases, type ServerSpec, start } from "./servers";

export interface QuietStart {
  /** ms to the first 2xx /health, per start. */
  ms: number[];
  /** MiB held 2 s after the first /health, with no request since (last start). */
  idleRssMb: number;
}

export async function quietStarts(spec: ServerSpec, dbs: Databases, db: Database, times = 3): Promise<QuietStart> {
  const ms: number[] = [];
  let idleRssMb = NaN;
  for (let i = 0; i < times; i++) {
    await Bun.sleep(500);
    const r = await start(spec, dbs, db);
    ms.push(r.firstHealthMs);
    await Bun.sleep(2000);
    idleRssMb = rssNowMb(r.pid);
    await r.stop();
  }
  return { ms, idleRssMb };
}
