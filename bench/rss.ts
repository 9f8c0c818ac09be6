// A server's memory: the RSS of one process, or the summed PSS of a process tree (Python's
// workers, mlflow-go's Go and Python processes), sampled while it works.
import { readdirSync, readFileSync } from "node:fs";

function children(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = byParent.get(ppid) ?? [];
      list.push(Number(entry));
      byParent.set(ppid, list);
    } catch {}
  }
  return byParent;
}

function statusKb(pid: number, field: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function pssKb(pid: number): number | undefined {
  try {
    const m = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").match(/^Pss:\s+(\d+) kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The pid and all its descendants. */
export function tree(pid: number): number[] {
  const byParent = children();
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(byParent.get(p) ?? []));
  }
  return out;
}

/**
 * Samples a server's memory every `everyMs`: one process, its VmRSS and VmHWM (the kernel's own
 * peak); a process tree (Python's workers, mlflow-go's Go and Python processes), the sum of
 * their PSS.
 */
export class RssSampler {
  private peakKb = 0;
  private segmentKb = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  constructor(
    readonly pid: number,
    private readonly everyMs = 100,
  ) {
    this.sample();
  }
  sample(): void {
    const pids = tree(this.pid);
    const kb = memoryKb(pids);
    // A single process's peak over its life also counts what happened between samples (VmHWM);
    // a window's peak must not: VmHWM would carry the earlier windows' peaks into it.
    this.peakKb = Math.max(this.peakKb, kb, pids.length === 1 ? statusKb(this.pid, "VmHWM") : 0);
    this.segmentKb = Math.max(this.segmentKb, kb);
  }
  /**
   * Starts a window: samples until mark(). Only the server under load is sampled; each sample
   * walks /proc, and nine servers sampled all the time kept the harness at ~80% of a core.
   */
  begin(): void {
    this.segmentKb = 0;
    this.sample();
    this.timer ??= setInterval(() => this.sample(), this.everyMs);
  }
  /** Peak MiB of the window since begin(); sampling stops. */
  mark(): number {
    this.sample();
    this.stop();
    const mb = this.segmentKb / 1024;
    this.segmentKb = 0;
    return mb;
  }
  get peakMb(): number {
    this.sample();
    return this.peakKb / 1024;
  }
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * KiB a process tree (its pids, the root first) holds: one process's VmRSS; a tree's proportional
 * set sizes, so pages the processes share (after fork) count once (VmRSS where smaps_rollup is
 * not readable).
 */
function memoryKb(pids: number[]): number {
  return pids.length === 1 ? statusKb(pids[0]!, "VmRSS") : pids.reduce((sum, p) => sum + (pssKb(p) ?? statusKb(p, "VmRSS")), 0);
}

/** MiB the process (tree) holds now. */
export function rssNowMb(pid: number): number {
  return memoryKb(tree(pid)) / 1024;
}
