// SQL for experiments and their tags.
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import type { Db } from "./db";
import { sql } from "./sql";

const DEFAULT_WORKSPACE = "default";

export class ExperimentStore {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  artifactLocation(experimentId: number | string): string {
    return appendToUriPath(this.config.defaultArtifactRoot, String(experimentId));
  }

  /** _create_default_experiment: experiment 0, "Default", if it is missing. */
  async ensureDefaultExperiment(): Promise<void> {
    const now = Date.now();
    await this.db.run(sql`
      INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time, workspace)
      VALUES (0, 'Default', ${this.artifactLocation(0)}, 'active', ${now}, ${now}, ${DEFAULT_WORKSPACE})
      ON CONFLICT DO NOTHING`);
  }

  async create(name: string, artifactLocation: string | undefined, tags: M.mlflow_ExperimentTag[]): Promise<string> {
    return this.db.tx(async (tx) => {
      const now = Date.now();
      const exists = await tx.one(sql`SELECT 1 AS x FROM experiments WHERE workspace = ${DEFAULT_WORKSPACE} AND name = ${name}`);
      if (exists) throw new MlflowError(`Experiment(name=${name}) already exists.`, "RESOURCE_ALREADY_EXISTS");
      const row = await tx.one<{ experiment_id: number }>(sql`
        INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time, workspace)
        VALUES (${name}, ${artifactLocation ?? null}, 'active', ${now}, ${now}, ${DEFAULT_WORKSPACE})
        RETURNING experiment_id`);
      const id = row!.experiment_id;
      if (!artifactLocation) {
        await tx.run(sql`UPDATE experiments SET artifact_location = ${this.artifactLocation(id)} WHERE experiment_id = ${id}`);
      }
      for (const tag of tags) {
        await tx.run(sql`INSERT INTO experiment_tags (key, value, experiment_id) VALUES (${tag.key}, ${tag.value}, ${id})`);
      }
      return String(id);
    });
  }

  async get(experimentId: number): Promise<M.mlflow_Experiment | undefined> {
    const row = await this.db.one(sql`SELECT * FROM experiments WHERE experiment_id = ${experimentId}`);
    if (!row) return undefined;
    const tags = await this.db.all<{ key: string; value: string }>(sql`SELECT key, value FROM experiment_tags WHERE experiment_id = ${experimentId}`);
    return {
      experiment_id: String(row.experiment_id),
      name: row.name,
      artifact_location: row.artifact_location,
      lifecycle_stage: row.lifecycle_stage,
      last_update_time: row.last_update_time ?? undefined,
      creation_time: row.creation_time ?? undefined,
      tags: tags.map((t) => ({ key: t.key, value: t.value })),
      workspace: row.workspace,
    };
  }
}

/** mlflow.utils.uri.append_to_uri_path for the simple case of one relative segment. */
export function appendToUriPath(uri: string, segment: string): string {
  const q = uri.indexOf("?");
  const [base, query] = q >= 0 ? [uri.slice(0, q), uri.slice(q)] : [uri, ""];
  return `${base.replace(/\/+$/, "")}/${segment}${query}`;
}
