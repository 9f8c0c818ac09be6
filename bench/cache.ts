// The data-set cache: a server's freshly built data set, kept (a PostgreSQL database, or a copy
// of the SQLite files under bench/.cache/) with its Dataset description, so that the next run
// clones it instead of building it again through the API — at 100,000 runs the peers take many
// minutes to build theirs. The report says when a data set came from the cache, and its original
// build time. Keyed by server kind, dialect, installed version, scale and DATASET_VERSION; bump
// that when buildDataset changes what it writes. `--no-cache` builds everything anew.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { BENCH, type Database, type Databases, type ServerSpec } from "./servers";
import type { Dataset, Scale } from "./workloads";

const DATASET_VERSION = 1;
export const CACHE_DIR = `${BENCH}/.cache`;

interface Entry {
  dataset: Dataset;
  builtAt: string;
  db: Database;
}

function key(spec: ServerSpec, version: string | undefined, scale: Scale): string {
  const what = JSON.stringify({ kind: spec.kind, dialect: spec.dialect, version, scale, v: DATASET_VERSION });
  return `${spec.kind}_${spec.dialect}_${Bun.hash(what).toString(36)}`.replace(/[^a-z0-9_]/gi, "_").toLowerCase();
}

/** The cached data set of this server kind and scale, if it is there (and its database too). */
export async function cached(dbs: Databases, spec: ServerSpec, version: string | undefined, scale: Scale): Promise<Entry | undefined> {
  const file = `${CACHE_DIR}/${key(spec, version, scale)}.json`;
  if (!existsSync(file)) return undefined;
  const entry = JSON.parse(readFileSync(file, "utf8")) as Entry;
  return (await dbs.exists(entry.db)) ? entry : undefined;
}

/** Keeps a copy of `db` (nobody may be connected to it) and the data set it holds. */
export async function keep(dbs: Databases, spec: ServerSpec, version: string | undefined, scale: Scale, db: Database, dataset: Dataset): Promise<void> {
  const k = key(spec, version, scale);
  mkdirSync(CACHE_DIR, { recursive: true });
  const target = db.dialect === "postgres" ? `benchcache_${k}`.slice(0, 63) : `${CACHE_DIR}/${k}/mlflow.db`;
  if (db.dialect === "sqlite") rmSync(`${CACHE_DIR}/${k}`, { recursive: true, force: true });
  const copy = await dbs.copy(db, target);
  const entry: Entry = { dataset, builtAt: new Date().toISOString(), db: copy };
  writeFileSync(`${CACHE_DIR}/${k}.json`, JSON.stringify(entry));
}
