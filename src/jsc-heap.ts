// Imported first by the entry point: it may replace the process before anything else runs.
//
// JavaScriptCore sizes its garbage collection by the machine's RAM. With gigabytes of it, a
// server under load holds far more freed memory than live data: 16 clients logging 1,000-metric
// batches peaked at ~150 MB RSS for ~40 MB of live heap. Told the machine has 512 MB, it
// collects sooner: ~100 MB, at the same throughput. JavaScriptCore reads this option only from
// the environment (BUN_JSC_forceRAMSize), once, before any JavaScript runs; so the program
// restarts itself in place with it set (execve: same pid, same open files and arguments). A
// value already set (the restarted process, a worker, the user's own) is left alone.
import { selfCommand } from "./self";

const VARIABLE = "BUN_JSC_forceRAMSize";
const HEAP_RAM_BYTES = 512 * 2 ** 20;

if (process.env[VARIABLE] === undefined && typeof process.execve === "function") {
  const [file, ...prefix] = selfCommand();
  try {
    process.execve(file!, [file!, ...prefix, ...process.argv.slice(2)], { ...process.env, [VARIABLE]: String(HEAP_RAM_BYTES) });
  } catch {
    // not restartable (the executable is gone, say): run on with the default heap sizing
  }
}
