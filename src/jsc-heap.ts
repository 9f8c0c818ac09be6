// Imported first by the entry point: it may replace the process before anything else runs.
//
// JavaScriptCore sizes its garbage collection by the machine's RAM. On a 24 GiB machine a server
// under load held far more freed memory than live data: 16 clients logging 1,000-metric batches
// peaked at ~150 MB RSS for ~40 MB of live heap. Told the machine has 2 GiB (or 512 MiB, or
// 1 GiB: the same), it peaked at ~100 MB, at the same throughput but for SearchExperiments
// (~7% lower). JavaScriptCore reads this option only from the environment
// (BUN_JSC_forceRAMSize), once, before any JavaScript runs; so the program
// restarts itself in place with it set (execve: same pid, same open files and arguments). A
// value already set (the restarted process, a worker, the user's own) is left alone.
import { selfCommand } from "./self";

const VARIABLE = "BUN_JSC_forceRAMSize";
const HEAP_RAM_BYTES = 2 * 2 ** 30;

if (process.env[VARIABLE] === undefined && typeof process.execve === "function") {
  const [file, ...prefix] = selfCommand();
  try {
    process.execve(file!, [file!, ...prefix, ...process.argv.slice(2)], { ...process.env, [VARIABLE]: String(HEAP_RAM_BYTES) });
  } catch {
    // not restartable (the executable is gone, say): run on with the default heap sizing
  }
}
