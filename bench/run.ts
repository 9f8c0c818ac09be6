// The benchmark harness. `bun bench/run.ts --mode smoke|quick|full [options]`
//   (make bench-smoke / bench-quick / bench). See bench/README.md.
//
// Each server gets its own fresh database (PostgreSQL databases on one server, or SQLite files),
// the same data set (built through its own REST API, or cloned from the server that shares its
// schema), and the same workloads with the same client concurrency; per round, each workload
// runs against every server in turn (A B C D, A B C D …). Results: bench/results/<timestamp>.json
// and .md (smoke: bench/.tmp/smoke-latest.*, so `make test` leaves no files behind).
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { ensurePostgres, type PgServer } from "../test/support/pg-cluster";
import { cached, keep } from "./cache";
import { type FloorDb, runFloor, setupFloor } from "./floor-runner";
import { parseArgs } from "./options";
import { aggregate, runMarkdown, smokeVerdict, updateReadme, type Sample, type ServerReport } from "./report";
import { quietStarts } from "./startup";
import {
  allSpecs, BENCH, BUN, Databases, install, start, TMP,
  type Database, type Running, type ServerSpec,
} from "./servers";
import { buildDataset, drain, pageTenToken, quietMachine, workloads, type Dataset, type Workload } from "./workloads";
import { load, parse, resolveGenerator, type LoadResult } from "./wrk";

const cores = cpus().length;

const t0 = performance.now();
const log = (s: string) => console.log(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}`);

interface Live {
  spec: ServerSpec;
  report: ServerReport;
  db?: Database;
  running?: Running;
  dataset?: Dataset;
  workloads?: Workload[];
  pageTokenError?: string;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "Z");
  const runId = stamp.replace(/[^0-9]/g, "").slice(2, 14);
  log(`mode ${opts.mode}: ${opts.seconds}s × ${opts.rounds} round(s), concurrency ${opts.concurrency}, writers ${opts.writers}, scale ${JSON.stringify(opts.scale)}`);

  const known = allSpecs(cores);
  const specs = opts.servers ? opts.servers.map((n) => known.find((s) => s.name === n) ?? (() => { throw new Error(`unknown server ${n}; known: ${known.map((s) => s.name).join(", ")}`); })()) : known;
  const needPg = specs.some((s) => s.dialect === "postgres") || opts.floor;

  const gen = await resolveGenerator(opts.mode !== "smoke", opts.loadgen === "bun");
  log(`load generator: ${gen.kind}${gen.note ? ` (${gen.note})` : ""}`);

  let pg: PgServer | undefined;
  if (needPg) {
    pg = await ensurePostgres();
    log(`PostgreSQL: ${pg.kind}`);
  }
  const dbs = new Databases(pg?.url, runId);
  const live: Live[] = specs.map((spec) => ({
    spec, report: { name: spec.name, kind: spec.kind, dialect: spec.dialect, status: "ok", starts: [] },
  }));
  const byName = (n: string) => live.find((l) => l.spec.name === n);
  let ceiling: Running | undefined;
  let floorDb: FloorDb | undefined;
  const samples: Sample[] = [];
  const scriptDir = `${TMP}/${runId}/scripts`;

  const fail = (l: Live, status: ServerReport["status"], reason: string) => {
    l.report.status = status;
    l.report.reason = reason;
    log(`${l.spec.name}: ${status}: ${reason}`);
  };

  const startLive = async (l: Live, dbLabel: string): Promise<boolean> => {
    try {
      l.running = await start(l.spec, dbs, l.db);
      l.report.starts.push({ db: dbLabel, ms: l.running.firstHealthMs });
      log(`${l.spec.name}: up in ${Math.round(l.running.firstHealthMs)} ms (${dbLabel}), pid ${l.running.pid}`);
      return true;
    } catch (e) {
      fail(l, "did not start", String((e as Error).message ?? e));
      return false;
    }
  };

  try {
    // 1. install, fresh databases, builders build their data set
    for (const l of live) {
      const inst = await install(l.spec.kind);
      l.report.version = inst.version;
      if (!inst.ok) {
        fail(l, "not installed", inst.reason ?? "?");
        continue;
      }
      if (l.spec.dialect === "postgres" && !pg) {
        fail(l, "did not start", "no PostgreSQL");
        continue;
      }
      if (l.spec.cloneFrom && byName(l.spec.cloneFrom)) continue; // phase 2
      const hit = opts.cache ? await cached(dbs, l.spec, inst.version, opts.scale) : undefined;
      if (hit) {
        l.db = await dbs.clone(l.spec.name, hit.db);
        l.dataset = hit.dataset;
        l.report.data = { ...hit.dataset.build, how: `${hit.dataset.build.how}; built ${hit.builtAt.slice(0, 16).replace("T", " ")} UTC, reused from the data-set cache` };
        log(`${l.spec.name}: data set from the cache (built ${hit.builtAt})`);
        await startLive(l, "loaded");
        continue;
      }
      l.db = await dbs.fresh(l.spec.name, l.spec.dialect);
      if (!(await startLive(l, "empty"))) continue;
      log(`${l.spec.name}: building the data set through its API …`);
      try {
        l.dataset = await buildDataset(l.running!.url, opts.scale, opts.buildParallel, log);
        l.report.data = l.dataset.build;
        log(`${l.spec.name}: data set built in ${l.dataset.build.seconds.toFixed(1)} s (${l.dataset.build.requests} requests)`);
        if (opts.cache) {
          l.report.peakRssMb = Math.max(l.report.peakRssMb ?? 0, l.running!.rss.peakMb);
          await l.running!.stop();
          l.running = undefined;
          await keep(dbs, l.spec, inst.version, opts.scale, l.db, l.dataset); // started again below
        }
      } catch (e) {
        fail(l, "setup failed", String((e as Error).message ?? e));
        await l.running!.stop();
        l.report.peakRssMb = l.running!.rss.peakMb;
        l.running = undefined;
      }
    }

    if (opts.buildOnly) {
      log(`build only: ${live.map((l) => `${l.spec.name} ${l.report.status}${l.report.data ? ` (${l.report.data.seconds.toFixed(0)} s)` : ""}`).join(", ")}`);
      return opts.cache ? 0 : 1;
    }

    // 2. clones: the source is stopped while its database is copied, then started again
    for (const l of live) {
      if (!l.spec.cloneFrom || l.report.status !== "ok" || l.running) continue;
      const src = byName(l.spec.cloneFrom);
      if (!src) continue;
      if (!src.dataset || !src.db) {
        fail(l, "setup failed", `the data set comes from ${src.spec.name}, which has none (${src.report.reason ?? src.report.status})`);
        continue;
      }
      if (src.running) {
        src.report.peakRssMb = Math.max(src.report.peakRssMb ?? 0, src.running.rss.peakMb);
        await src.running.stop();
        src.running = undefined;
      }
      const c0 = performance.now();
      l.db = await dbs.clone(l.spec.name, src.db);
      const seconds = (performance.now() - c0) / 1000;
      l.dataset = src.dataset;
      l.report.data = {
        how: `cloned from ${src.spec.name}'s database (${src.db.dialect === "postgres" ? "CREATE DATABASE … TEMPLATE" : "file copy"}); built there in ${src.dataset.build.seconds.toFixed(1)} s`,
        seconds,
      };
      log(`${l.spec.name}: database cloned from ${src.spec.name} in ${seconds.toFixed(1)} s`);
      await startLive(l, "loaded");
    }
    for (const l of live) {
      if (l.report.status === "ok" && !l.running && l.dataset) await startLive(l, "loaded");
    }

    // 3. the floor's database (mlflow-bun's schema, made by a short-lived mlflow-bun) and the ceiling
    if (opts.floor && pg) {
      try {
        floorDb = await setupFloor(dbs);
      } catch (e) {
        log(`floor: setup failed: ${e}`);
      }
    }
    if (opts.ceiling) {
      try {
        ceiling = await start({ name: "ceiling", kind: "ceiling", dialect: "sqlite" }, dbs, undefined);
      } catch (e) {
        log(`ceiling: did not start: ${e}`);
      }
    }

    // 4. per server: its workloads (page 10 needs the server's own page token)
    const active = () => live.filter((l) => l.running);
    for (const l of active()) {
      let token: string | undefined;
      try {
        token = await pageTenToken(l.running!.url, l.dataset!);
        if (!token) l.pageTokenError = "fewer than 10 pages";
      } catch (e) {
        l.pageTokenError = String((e as Error).message ?? e);
      }
      l.workloads = workloads(l.dataset!, opts.concurrency, opts.writers, token, opts.scale.pageSize);
    }
    const order: string[] = [];
    for (const w of workloads(emptyDataset(), opts.concurrency, opts.writers, "x")) order.push(w.name);

    // 5. rounds, interleaved
    for (let round = opts.warmup > 0 ? 0 : 1; round <= opts.rounds; round++) {
      const seconds = round === 0 ? opts.warmup : opts.seconds;
      const record = (x: Sample) => {
        if (round > 0) samples.push(x);
      };
      if (ceiling) {
        const w: Workload = { name: CEILING_NAME, method: "GET", path: "/", concurrency: opts.concurrency };
        ceiling.rss.begin();
        const r = await load(gen, ceiling.url, w, seconds, scriptDir, "ceiling");
        record(sample(round, CEILING_NAME, "bun-serve (trivial)", r, ceiling.rss.mark()));
      }
      for (const name of order) {
        for (const l of active()) {
          const w = l.workloads!.find((x) => x.name === name);
          if (!w) {
            record({ round, workload: name, server: l.spec.name, rps: NaN, p50Ms: NaN, p99Ms: NaN, requests: 0, errors: 0, failed: `not run: no page-10 token (${l.pageTokenError})` });
            continue;
          }
          l.running!.rss.begin();
          try {
            const window = opts.mode === "smoke" ? seconds : Math.max(seconds, w.minSeconds ?? 0);
            const r = await load(gen, l.running!.url, w, window, scriptDir, `${l.spec.name}-${w.name}`);
            const waited = await drain(l.running!.url, opts.drainCap);
            // other servers' leftovers (not this one's: restarts go by `waited`); smoke runs inside `make test`
            if (opts.mode !== "smoke") await quietMachine(opts.drainCap);
            const s = sample(round, name, l.spec.name, r, l.running!.rss.mark());
            if (r.requests === 0) s.failed = `no request completed within ${window} s${waited > 1 ? ` (server busy ${waited.toFixed(0)} s more)` : ""}`;
            record(s);
            const last = round === opts.rounds && name === order.at(-1);
            if (waited >= opts.drainCap && !last) {
              log(`${l.spec.name}: still busy ${opts.drainCap} s after ${name}: restarting it`);
              l.report.peakRssMb = Math.max(l.report.peakRssMb ?? 0, l.running!.rss.peakMb);
              await l.running!.stop();
              l.running = undefined;
              await startLive(l, `restart after ${name}`);
            }
          } catch (e) {
            record({ round, workload: name, server: l.spec.name, rps: NaN, p50Ms: NaN, p99Ms: NaN, requests: 0, errors: 0, failed: String((e as Error).message ?? e) });
          }
          const s = round > 0 ? samples.at(-1)! : undefined;
          if (s) log(`round ${round} ${name.padEnd(24)} ${l.spec.name.padEnd(22)} ${s.failed ? `FAILED ${s.failed}` : `${s.rps.toFixed(1)} req/s p50 ${s.p50Ms.toFixed(2)} ms p99 ${s.p99Ms.toFixed(2)} ms errors ${s.errors}`}`);
        }
        const w0 = workloads(emptyDataset(), opts.concurrency, opts.writers, "x").find((x) => x.name === name)!;
        if (floorDb && w0.floor) {
          try {
            record(sample(round, name, "floor: postgres.js SQL", await runFloor(floorDb, w0, seconds, scriptDir), undefined));
          } catch (e) {
            record({ round, workload: name, server: "floor: postgres.js SQL", rps: NaN, p50Ms: NaN, p99Ms: NaN, requests: 0, errors: 0, failed: String(e) });
          }
        }
      }
    }
    // 6. quiet starts: each server alone, on its database as the workloads left it
    if (opts.quietStarts > 0) {
      for (const l of live) {
        if (!l.running) continue;
        l.report.peakRssMb = Math.max(l.report.peakRssMb ?? 0, l.running.rss.peakMb);
        await l.running.stop();
        l.running = undefined;
      }
      await ceiling?.stop();
      ceiling = undefined;
      for (const l of live) {
        if (l.report.status !== "ok" || !l.db) continue;
        try {
          l.report.quiet = await quietStarts(l.spec, dbs, l.db, opts.quietStarts);
          log(`${l.spec.name}: quiet starts ${l.report.quiet.ms.map((x) => x.toFixed(0)).join(", ")} ms; idle ${l.report.quiet.idleRssMb.toFixed(0)} MB`);
        } catch (e) {
          log(`${l.spec.name}: quiet start failed: ${e}`);
        }
      }
    }
  } finally {
    for (const l of live) {
      if (l.running) {
        l.report.peakRssMb = Math.max(l.report.peakRssMb ?? 0, l.running.rss.peakMb);
        await l.running.stop();
      }
    }
    await ceiling?.stop();
    if (!opts.keep) await dbs.dropAll();
    await pg?.stop();
  }

  // 7. report
  const serverOrder = [...(opts.ceiling ? ["bun-serve (trivial)"] : []), ...live.map((l) => l.spec.name), "floor: postgres.js SQL"];
  const baselineOf = (server: string) => {
    const l = byName(server);
    const dialect = l?.spec.dialect ?? "postgres";
    return live.find((x) => x.spec.baseline && x.spec.dialect === dialect && x.report.status === "ok")?.spec.name
      ?? live.find((x) => x.spec.baseline && x.report.status === "ok")?.spec.name;
  };
  const workloadOrder = [CEILING_NAME, ...workloads(emptyDataset(), opts.concurrency, opts.writers, "x").map((w) => w.name)];
  const rows = aggregate(samples, workloadOrder, serverOrder, baselineOf);
  const machine = { cores, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), cpu: cpus()[0]?.model, bun: Bun.version, platform: process.platform };
  const result = {
    timestamp: new Date().toISOString(), mode: opts.mode, machine, options: opts,
    loadGenerator: gen, servers: live.map((l) => l.report), rows, samples,
  };
  const md = runMarkdown({ ...result, gen, servers: live.map((l) => l.report) });

  const outDir = opts.mode === "smoke" ? TMP : `${BENCH}/results`;
  mkdirSync(outDir, { recursive: true });
  const base = opts.mode === "smoke" ? `${outDir}/smoke-latest` : `${outDir}/${stamp}-${opts.mode}`;
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2));
  writeFileSync(`${base}.md`, md);
  console.log(`\n${md}`);
  log(`results: ${base}.json, ${base}.md`);

  if (opts.mode !== "smoke") updateReadme(`${BENCH}/README.md`, opts.mode, result.timestamp, md);

  if (opts.mode === "smoke") return smokeVerdict(rows, live.map((l) => l.report));
  return 0;
}

const CEILING_NAME = "Ceiling: Bun.serve GET /";

function emptyDataset(): Dataset {
  return { smallExperiment: "", searchExperiment: "", scaleExperiment: "", writeRuns: [], scaleSample: [], scaleRuns: 0, historyRun: "", bulkRuns: [], build: { how: "", seconds: 0, requests: 0 } };
}

function sample(round: number, workload: string, server: string, r: LoadResult, rssMb: number | undefined): Sample {
  return { round, workload, server, rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, requests: r.requests, errors: r.errors, errorDetail: r.errorDetail, rssMb };
}

process.exit(await main());
