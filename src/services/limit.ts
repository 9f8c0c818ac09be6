/**
 * At most `n` calls of fn at a time; later calls wait their turn, first come first served.
 * Metric histories are read whole (tens of thousands of rows each): sixteen at once hold
 * sixteen copies in memory, and finish no sooner than a few at a time on a few cores.
 */
export function concurrencyLimit(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active < n) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // the slot is handed over
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
