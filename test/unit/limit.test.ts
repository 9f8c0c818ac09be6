import { expect, test } from "bun:test";
import { concurrencyLimit } from "../../src/services/limit";

test("concurrencyLimit runs at most n at once, in arrival order, and frees slots on failure", async () => {
  const limit = concurrencyLimit(2);
  let active = 0;
  let most = 0;
  const started: number[] = [];
  const task = (i: number) => limit(async () => {
    started.push(i);
    most = Math.max(most, ++active);
    await Bun.sleep(5);
    active--;
    if (i === 1) throw new Error("task 1 fails");
    return i;
  });
  const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map(task));
  expect(most).toBe(2);
  expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
  expect(await limit(async () => "after")).toBe("after"); // no slot leaked
});
