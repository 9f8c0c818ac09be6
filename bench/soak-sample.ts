// The soak's resource samples (RSS, open file descriptors, PostgreSQL connections) and its
// definition of "flat": a leak shows as a level that keeps rising after the warm-up, so the
// last quarter's peak is compared with the first quarter's peak (peaks, not means: a sawtooth
// GC pattern has a stable peak while a leak's peak climbs).
import { readdirSync, readFileSync } from "node:fs";
import postgres from "postgres";

export interface Sample {
  /** Seconds since the load started. */
  t: number;
  rssMb: number;
  fds: number;
  /** Connections to the soak's database (pg_stat_activity); undefined on SQLite. */
  pgConnections?: number;
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** Samples a process every `everyMs` until stopped; PostgreSQL through one admin connection. */
export class Sampler {
  readonly samples: Sample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private pg: postgres.Sql | undefined;
  private readonly t0 = performance.now();
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly pid: number,
    private readonly pgAdminUrl?: string,
    private readonly pgDatabase?: string,
  ) {
    if (pgAdminUrl) this.pg = postgres(pgAdminUrl, { max: 1, onnotice: () => {} });
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => void (this.pending = this.pending.then(() => this.sample())), everyMs);
  }

  async sample(): Promise<void> {
    const t = (performance.now() - this.t0) / 1000;
    const s: Sample = { t, rssMb: rssMb(this.pid), fds: fdCount(this.pid) };
    if (this.pg) {
      const [row] = await this.pg<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${this.pgDatabase!}`;
      s.pgConnections = row!.n;
    }
    this.samples.push(s);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pending;
    await this.pg?.end();
  }
}

/** How much the last quarter's peak may exceed the first quarter's (after the warm-up). */
export interface Tolerance {
  /** Fraction of the first quarter's RSS peak, plus an absolute allowance in MiB. */
  rssFraction: number;
  rssSlackMb: number;
  /** Extra file descriptors (a connection or a log file opening at the moment of a sample). */
  fdSlack: number;
  /** Extra PostgreSQL connections; the pool's size bounds them in any case. */
  pgSlack: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { rssFraction: 0.1, rssSlackMb: 16, fdSlack: 8, pgSlack: 0 };

export interface Flatness {
  metric: "rssMb" | "fds" | "pgConnections";
  firstQuarterMax: number;
  lastQuarterMax: number;
  limit: number;
  flat: boolean;
}

/** Flatness of each sampled figure over the samples taken after `warmupSeconds`. */
export function flatness(samples: Sample[], warmupSeconds: number, tol: Tolerance): Flatness[] {
  const steady = samples.filter((s) => s.t >= warmupSeconds);
  if (steady.length < 8) throw new Error(`only ${steady.length} samples after the warm-up: sample more often or run longer`);
  const quarter = Math.floor(steady.length / 4);
  const first = steady.slice(0, quarter);
  const last = steady.slice(steady.length - quarter);
  const out: Flatness[] = [];
  const check = (metric: Flatness["metric"], limitOf: (firstMax: number) => number) => {
    const firstMax = Math.max(...first.map((s) => s[metric] ?? 0));
    const lastMax = Math.max(...last.map((s) => s[metric] ?? 0));
    const limit = limitOf(firstMax);
    out.push({ metric, firstQuarterMax: round(firstMax), lastQuarterMax: round(lastMax), limit: round(limit), flat: lastMax <= limit });
  };
  check("rssMb", (m) => m * (1 + tol.rssFraction) + tol.rssSlackMb);
  check("fds", (m) => m + tol.fdSlack);
  if (samples.some((s) => s.pgConnections !== undefined)) check("pgConnections", (m) => m + tol.pgSlack);
  return out;
}

export const round = (x: number): number => Math.round(x * 10) / 10;
