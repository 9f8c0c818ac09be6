// The stores, one per domain, over one database handle.
import type { Config } from "../config";
import type { Db } from "./db";
import { ExperimentStore } from "./experiments";

export function createStores(db: Db, config: Config) {
  return { db, experiments: new ExperimentStore(db, config) };
}

export type Stores = ReturnType<typeof createStores>;
