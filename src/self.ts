// This program's own command line: to start it again (workers) or in place (jsc-heap.ts).

/**
 * The executable and arguments that start this program again: a compiled binary, or `bun` with
 * its own options (--cpu-prof, say) and cli.ts.
 */
export function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.includes("~BUN");
  return compiled ? [process.execPath] : [process.execPath, ...process.execArgv, Bun.main];
}
