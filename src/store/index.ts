// The stores, one per domain, over one database handle.
import type { Config } from "../config";
import type { Db } from "./db";
import { ExperimentStore } from "./experiments";
import { ModelVersionStore } from "./model-versions";
import { RegisteredModelStore } from "./registered-models";
import { RunStore } from "./runs";
import { WebhookStore } from "./webhooks";

export function createStores(db: Db, config: Config) {
  const experiments = new ExperimentStore(db, config);
  return { db, experiments, runs: new RunStore(db, experiments),
    registeredModels: new RegisteredModelStore(db), modelVersions: new ModelVersionStore(db),
    webhooks: new WebhookStore(db) };
}

export type Stores = ReturnType<typeof createStores>;
