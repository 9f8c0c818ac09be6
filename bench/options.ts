// The harness's modes and command-line options (bench/run.ts --help).
import type { Scale } from "./workloads";

export type Mode = "smoke" | "quick" | "full";

export interface Options {
  mode: Mode;
  servers?: string[];
  seconds: number;
  rounds: number;
  concurrency: number;
  writers: number;
  scale: Scale;
  floor: boolean;
  ceiling: boolean;
  loadgen: "auto" | "bun";
  keep: boolean;
  buildParallel: number;
  /** Seconds per (workload, server) of an unrecorded round 0; 0 = none. */
  warmup: number;
  /** A server still busy this many seconds after a workload is restarted. */
  drainCap: number;
  /** Reuse data sets built before (bench/cache.ts). */
  cache: boolean;
  /** Quiet starts per server after the workloads (bench/startup.ts); 0 = none. */
  quietStarts: number;
  /** Only build (and cache) the data sets: no workloads, no results. */
  buildOnly: boolean;
}

const MODES: Record<Mode, Omit<Options, "mode" | "loadgen" | "keep" | "cache" | "buildOnly">> = {
  smoke: {
    servers: ["mlflow-bun/sqlite"], seconds: 1, rounds: 1, concurrency: 4, writers: 8, floor: false, ceiling: true, buildParallel: 4,
    warmup: 0, drainCap: 30, quietStarts: 1,
    scale: { runs: 300, metricSteps: 1, historyPoints: 1_000, bulkRuns: 2, bulkSteps: 100, pageSize: 1 },
  },
  quick: {
    servers: ["mlflow-bun/pg", "mlflow-python/pg"], seconds: 2, rounds: 1, concurrency: 16, writers: 32, floor: true, ceiling: true, buildParallel: 8,
    warmup: 0, drainCap: 30, quietStarts: 1,
    scale: { runs: 1_000, metricSteps: 5, historyPoints: 25_000, bulkRuns: 20, bulkSteps: 1_000, pageSize: 100 },
  },
  // 9 servers × 14 workloads × 2 rounds of 5 s: ~45 minutes on 2 cores with cached data sets, of
  // which most is waiting for MLflow's Python servers to finish the requests queued in a window
  // (one 100k-run search on SQLite takes it seconds); a server still busy 45 s after a window is
  // restarted. The builds add ~40 minutes once. One value per metric: with 10 steps, the SQLite
  // copies alone would take ~60 GB of disk.
  full: {
    seconds: 5, rounds: 2, concurrency: 16, writers: 32, floor: true, ceiling: true, buildParallel: 8,
    warmup: 0, drainCap: 45, quietStarts: 3,
    scale: { runs: 100_000, metricSteps: 1, historyPoints: 25_000, bulkRuns: 100, bulkSteps: 10_000, pageSize: 100 },
  },
};

export function parseArgs(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return argv[i]!.includes("=") ? argv[i]!.split("=").slice(1).join("=") : argv[i + 1];
  };
  if (argv.includes("--help")) {
    console.log(`bun bench/run.ts --mode smoke|quick|full
  --servers a,b        server rows to run (names as in the table; default per mode; "all")
  --seconds N          per workload per server per round      --rounds N
  --concurrency N      client connections (all workloads but the writers one)
  --writers N          connections of the concurrent-writers workload
  --runs N             runs in the scale experiment            --steps N  steps per metric there
  --history N          points of the GetMetricHistory metric
  --bulk-runs N --bulk-steps N   the get-history-bulk-interval data
  --page-size N        max_results of the run searches (default 100)
  --warmup N           seconds per workload and server of an unrecorded round 0 (default 0)
  --drain-cap N        restart a server still busy N s after a workload (full: 45)
  --no-floor --no-ceiling        leave out those rows
  --no-cache           build every data set anew (default: reuse bench/.cache; never in smoke)
  --quiet-starts N     starts per server, alone, after the workloads (full: 3)
  --build-only         build the data sets into the cache and stop (no workloads, no results)
  --loadgen bun        use the Bun load generator even when wrk is there
  --keep               keep the databases afterwards`);
    process.exit(0);
  }
  const mode = (get("mode") ?? "quick") as Mode;
  if (!MODES[mode]) throw new Error(`--mode must be smoke, quick or full`);
  const base = MODES[mode];
  const int = (name: string, dflt: number) => (get(name) === undefined ? dflt : Number(get(name)));
  const servers = get("servers");
  return {
    mode,
    servers: servers === "all" ? undefined : servers ? servers.split(",").map((s) => s.trim()) : base.servers,
    seconds: int("seconds", base.seconds),
    rounds: int("rounds", base.rounds),
    concurrency: int("concurrency", base.concurrency),
    writers: int("writers", base.writers),
    scale: {
      runs: int("runs", base.scale.runs), metricSteps: int("steps", base.scale.metricSteps), historyPoints: int("history", base.scale.historyPoints),
      bulkRuns: int("bulk-runs", base.scale.bulkRuns), bulkSteps: int("bulk-steps", base.scale.bulkSteps), pageSize: int("page-size", base.scale.pageSize),
    },
    floor: base.floor && !argv.includes("--no-floor"),
    ceiling: base.ceiling && !argv.includes("--no-ceiling"),
    loadgen: get("loadgen") === "bun" ? "bun" : "auto",
    keep: argv.includes("--keep"),
    buildParallel: base.buildParallel,
    warmup: int("warmup", base.warmup),
    drainCap: int("drain-cap", base.drainCap),
    cache: mode !== "smoke" && !argv.includes("--no-cache"),
    quietStarts: int("quiet-starts", base.quietStarts),
    buildOnly: argv.includes("--build-only"),
  };
}
