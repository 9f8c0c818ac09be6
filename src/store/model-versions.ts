// Model versions and their tags: the model-registry SqlAlchemyStore's version methods
// (sqlalchemy_store.py), plus the two tracking-store reads create-model-version's source checks
// need (the run's artifact URI, a logged model) and the logged model's mlflow.modelVersions tag
// it writes. Version numbers: the model's highest version + 1, taken while holding the model's
// row (PostgreSQL: the UPDATE's row lock; SQLite: BEGIN IMMEDIATE), so concurrent creates get
// distinct, gap-free numbers without MLflow's IntegrityError retries.
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { jsonLoads, PyDict, pyJsonDumps, type PyValue } from "../python/builtins";
import { orderBySql, parseVersionFilter, registryStartOffset, versionFilterSql, versionOrderBy } from "../search/registry";
import { createPageToken } from "../search/utils";
import type { Db, Dialect, Row } from "./db";
import {
  aliasesOf, checkLimits, limitOffset, modelAliases, modelNotFound, pgInsert, pgUpdate, STAGE_DELETED_INTERNAL, type Tag, tooLong,
  VERSION_COLUMNS, versionNotFound, versionParam, versionProto, versionProtos, versionRow, versionWithAliases, WORKSPACE,
} from "./registry";
import { join, sql } from "./sql";

export interface NewVersion {
  name: string;
  source: string;
  storageLocation: string;
  runId: string | null;
  runLink: string;
  description: string;
  tags: Tag[];
  /** The logged model whose mlflow.modelVersions tag records the new version. */
  modelId?: string;
}

export interface VersionSearch {
  filter: string;
  maxResults: number;
  orderBy: readonly string[];
  pageToken?: string;
}

/** A failure MLflow meets after the version was committed (the handler's set_model_versions_tags). */
export type AfterCommit = MlflowError | "internal-server-error" | undefined;

const MODEL_VERSIONS_TAG = "mlflow.modelVersions";
const INSERT_COLUMNS = [
  "workspace", "name", "version", "creation_time", "last_updated_time", "description", "user_id", "current_stage", "source",
  "storage_location", "run_id", "run_link", "status", "status_message",
];

export class ModelVersionStore {
  constructor(private readonly db: Db) {}

  get dialect(): Dialect {
    return this.db.dialect;
  }

  /** A version that is not soft-deleted, or MLflow's not-found error. */
  private async mustVersion(db: Db, name: string, version: bigint): Promise<Row> {
    const param = versionParam(version, this.dialect);
    const row = param === undefined ? undefined : await versionRow(db, name, param);
    if (!row) throw versionNotFound(name, version);
    return row;
  }

  /**
   * create_model_version: the model's update time, the next version number, the version and
   * its tags (a dict: the last value of a key wins); then, for a logged model, the handler's
   * set_model_versions_tags, which MLflow runs after this commit (its failures leave the
   * version in place: they are returned, for the service to answer after the commit).
   */
  async create(v: NewVersion): Promise<{ version: M.mlflow_ModelVersion; after: AfterCommit }> {
    const tags = new Map<string, string>();
    for (const t of v.tags) tags.set(t.key, t.value);
    return this.db.tx(async (tx) => {
      const now = Date.now();
      const held = await tx.one(sql`
        UPDATE registered_models SET last_updated_time = ${now}
        WHERE workspace = ${WORKSPACE} AND name = ${v.name} RETURNING name`);
      if (!held) throw modelNotFound(v.name);
      const max = await tx.one<{ v: number | null }>(sql`
        SELECT max(model_versions.version) AS v FROM model_versions WHERE model_versions.name = ${v.name} AND model_versions.workspace = ${WORKSPACE}`);
      const version = Number(max?.v ?? 0) + 1;
      const overflow = tooLong(this.dialect, [[v.description, 5000], [v.source, 500], [v.storageLocation, 500], [v.runId, 32], [v.runLink, 500]], () =>
        pgInsert("model_versions", INSERT_COLUMNS, [[
          WORKSPACE, v.name, version, now, now, v.description, null, "None", v.source, v.storageLocation, v.runId, v.runLink, "READY", null,
        ]]),
      );
      if (overflow) throw overflow;
      const row = await tx.one(sql`
        INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source,
          storage_location, run_id, run_link, status, status_message, workspace)
        VALUES (${v.name}, ${version}, ${now}, ${now}, ${v.description}, ${null}, 'None', ${v.source},
          ${v.storageLocation}, ${v.runId}, ${v.runLink}, 'READY', ${null}, ${WORKSPACE})
        RETURNING ${VERSION_COLUMNS}`);
      if (tags.size) {
        const values = [...tags].map(([k, value]) => sql`(${k}, ${value}, ${v.name}, ${version}, ${WORKSPACE})`);
        await tx.run(sql`INSERT INTO model_version_tags (key, value, name, version, workspace) VALUES ${join(values, ", ")}`);
      }
      const aliases = (await modelAliases(tx, [v.name])).get(v.name)!;
      const proto = versionProto(row!, [...tags].map(([key, value]) => ({ key, value })), aliasesOf(aliases, version));
      const after = v.modelId === undefined ? undefined : await recordOnLoggedModel(tx, v.modelId, v.name, version);
      return { version: proto, after };
    });
  }

  async get(name: string, version: bigint): Promise<M.mlflow_ModelVersion> {
    return versionWithAliases(this.db, await this.mustVersion(this.db, name, version));
  }

  /** get_model_version_download_uri: storage_location, or the source when it is empty. */
  async downloadUri(name: string, version: bigint): Promise<string> {
    const row = await this.mustVersion(this.db, name, version);
    return row.storage_location || row.source;
  }

  /** update_model_version: the description (NULL when the request has none) and the time. */
  async update(name: string, version: bigint, description: string | null): Promise<M.mlflow_ModelVersion> {
    return this.db.tx(async (tx) => {
      const row = await this.mustVersion(tx, name, version);
      const now = Date.now();
      const overflow = tooLong(
        this.dialect,
        [[description, 5000]],
        () => pgUpdate("model_versions", [["last_updated_time", now], ["description", description]], [["workspace", WORKSPACE], ["name", name], ["version", Number(row.version)]]),
        true,
      );
      if (overflow) throw overflow;
      await tx.run(sql`
        UPDATE model_versions SET description = ${description}, last_updated_time = ${now}
        WHERE workspace = ${WORKSPACE} AND name = ${name} AND version = ${row.version}`);
      return versionWithAliases(tx, (await versionRow(tx, name, Number(row.version)))!);
    });
  }

  /**
   * transition_model_version_stage. With archive_existing_versions, MLflow archives the other
   * versions in the target stage first, comparing version with the request's string, and only
   * then validates the name and version (`checks`); then the version and its model are updated.
   */
  async transition(name: string, rawVersion: string, stage: string, archive: boolean, checks: () => bigint): Promise<M.mlflow_ModelVersion> {
    return this.db.tx(async (tx) => {
      const now = Date.now();
      if (archive) {
        await tx.run(sql`
          UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ${now}
          WHERE model_versions.workspace = ${WORKSPACE} AND model_versions.name = ${name}
            AND model_versions.version != ${this.dialect === "postgres" ? rawVersion : (numeric(rawVersion) ?? rawVersion)}
            AND model_versions.current_stage = ${stage}`);
      }
      const version = checks();
      const row = await this.mustVersion(tx, name, version);
      await tx.run(sql`
        UPDATE model_versions SET current_stage = ${stage}, last_updated_time = ${now}
        WHERE workspace = ${WORKSPACE} AND name = ${name} AND version = ${row.version}`);
      await tx.run(sql`UPDATE registered_models SET last_updated_time = ${now} WHERE workspace = ${WORKSPACE} AND name = ${name}`);
      return versionWithAliases(tx, (await versionRow(tx, name, Number(row.version)))!);
    });
  }

  /**
   * delete_model_version: MLflow's soft delete. The version stays (its number is never reused,
   * its tags are kept) as Deleted_Internal with its fields redacted; aliases pointing at it go.
   */
  async delete(name: string, version: bigint): Promise<void> {
    await this.db.tx(async (tx) => {
      const row = await this.mustVersion(tx, name, version);
      const now = Date.now();
      await tx.run(sql`UPDATE registered_models SET last_updated_time = ${now} WHERE workspace = ${WORKSPACE} AND name = ${name}`);
      await tx.run(sql`DELETE FROM registered_model_aliases WHERE workspace = ${WORKSPACE} AND name = ${name} AND version = ${row.version}`);
      await tx.run(sql`
        UPDATE model_versions SET current_stage = ${STAGE_DELETED_INTERNAL}, last_updated_time = ${now}, description = NULL,
          user_id = NULL, source = 'REDACTED-SOURCE-PATH', run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK',
          status_message = NULL
        WHERE workspace = ${WORKSPACE} AND name = ${name} AND version = ${row.version}`);
    });
  }

  /** set_model_version_tag: upsert on a version that is not deleted. */
  async setTag(name: string, version: bigint, key: string, value: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const row = await this.mustVersion(tx, name, version);
      await tx.run(sql`
        INSERT INTO model_version_tags (key, value, name, version, workspace) VALUES (${key}, ${value}, ${name}, ${row.version}, ${WORKSPACE})
        ON CONFLICT (workspace, key, name, version) DO UPDATE SET value = excluded.value`);
    });
  }

  /** delete_model_version_tag: the version must exist; a missing tag is no error. */
  async deleteTag(name: string, version: bigint, key: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const row = await this.mustVersion(tx, name, version);
      await tx.run(sql`
        DELETE FROM model_version_tags WHERE workspace = ${WORKSPACE} AND name = ${name} AND version = ${row.version} AND key = ${key}`);
    });
  }

  /**
   * search_model_versions: one statement for the page (LIMIT max_results + 1, OFFSET only with
   * a page token), one for the versions' tags. Versions are listed without aliases, as MLflow's
   * to_mlflow_entity lists them here.
   */
  async search(p: VersionSearch): Promise<{ versions: M.mlflow_ModelVersion[]; nextPageToken?: string }> {
    if (p.maxResults < 1) throw MlflowError.invalid(`Invalid value for max_results. It must be a positive integer, but got ${p.maxResults}`);
    if (p.maxResults > 200000) {
      throw MlflowError.invalid(`Invalid value for request parameter max_results. It must be at most 200000, but got value ${p.maxResults}`);
    }
    const clauses = parseVersionFilter(p.filter);
    const { conditions, bindError } = versionFilterSql(clauses, this.dialect);
    const orderBy = versionOrderBy(p.orderBy);
    const offset = registryStartOffset(p.pageToken);
    const limit = p.maxResults + 1;
    checkLimits(this.dialect, limit, p.pageToken ? offset : 0);
    if (bindError) throw bindError;
    const rows = await this.db.all(sql`
      SELECT ${VERSION_COLUMNS} FROM model_versions
      WHERE ${join([...conditions, sql`model_versions.current_stage != ${STAGE_DELETED_INTERNAL}`], " AND ")}
      ORDER BY ${orderBySql("model_versions", orderBy)}
      ${limitOffset(limit, p.pageToken ? offset : undefined)}`);
    const page = rows.slice(0, p.maxResults);
    return {
      versions: await versionProtos(this.db, page),
      nextPageToken: rows.length === limit ? createPageToken(offset + p.maxResults) : undefined,
    };
  }

  // ---- the tracking store's reads for create-model-version's source checks ----------------------

  /** get_run(run_id).info.artifact_uri; undefined when there is no such run. */
  async runArtifactUri(runId: string): Promise<string | null | undefined> {
    const row = await this.db.one(sql`SELECT runs.artifact_uri FROM runs WHERE runs.run_uuid = ${runId}`);
    return row ? row.artifact_uri : undefined;
  }

  /** get_logged_model(model_id): an active (not deleted) logged model, or undefined. */
  async loggedModel(modelId: string): Promise<{ artifactLocation: string; sourceRunId: string | null } | undefined> {
    const row = await this.db.one(sql`
      SELECT logged_models.artifact_location, logged_models.source_run_id FROM logged_models
      WHERE logged_models.model_id = ${modelId} AND logged_models.lifecycle_stage != 'deleted'`);
    return row ? { artifactLocation: row.artifact_location, sourceRunId: row.source_run_id } : undefined;
  }

  /** The version (not deleted) a models:/name/version source names: its run, logged model and location. */
  async sourceVersion(name: string, version: bigint): Promise<Row> {
    return this.mustVersion(this.db, name, version);
  }
}

/** int() of a version string, when it is one (SQLite compares the column with the number). */
function numeric(s: string): number | undefined {
  return /^\s*[-+]?\d+\s*$/.test(s) ? Number(s) : undefined;
}

/**
 * AbstractStore.set_model_versions_tags: append {"name", "version"} to the logged model's
 * mlflow.modelVersions tag (a JSON list), unless it is there already.
 */
async function recordOnLoggedModel(tx: Db, modelId: string, name: string, version: number): Promise<AfterCommit> {
  const model = await tx.one(sql`
    SELECT logged_models.experiment_id FROM logged_models
    WHERE logged_models.model_id = ${modelId} AND logged_models.lifecycle_stage != 'deleted'`);
  if (!model) return MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
  const tag = await tx.one(sql`
    SELECT logged_model_tags.tag_value FROM logged_model_tags
    WHERE logged_model_tags.model_id = ${modelId} AND logged_model_tags.tag_key = ${MODEL_VERSIONS_TAG}`);
  const entry = new PyDict([["name", name], ["version", BigInt(version)]]);
  let list: PyValue[] = [entry];
  if (tag && tag.tag_value) {
    const existing = jsonLoads(new TextEncoder().encode(tag.tag_value));
    // json.loads failing, or `list + list` of something else: a Python exception in the handler
    if (existing === undefined || !Array.isArray(existing)) return "internal-server-error";
    const same = (x: PyValue) =>
      x instanceof PyDict && x.entries.length === 2 && x.get("name") === name && pyNumber(x.get("version")) === version;
    list = existing.some(same) ? existing : [...existing, entry];
  }
  await tx.run(sql`
    INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value)
    VALUES (${modelId}, ${model.experiment_id}, ${MODEL_VERSIONS_TAG}, ${pyJsonDumps(list)})
    ON CONFLICT (model_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`);
  return undefined;
}

const pyNumber = (v: PyValue | undefined) => (typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : typeof v === "boolean" ? Number(v) : NaN);
