// Registered models, their tags and aliases: the model-registry SqlAlchemyStore's registered
// model methods (sqlalchemy_store.py), with the statements its ORM issues written out. Every
// query is scoped to the default workspace. Validation MLflow does before touching the database
// is the service's (services/registered-models.ts); what interleaves with queries is here.
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { pyStrRepr } from "../python/builtins";
import { IS_PROMPT_TAG_KEY, modelFilterSql, modelOrderBy, orderBySql, parseModelFilter, registryStartOffset } from "../search/registry";
import { createPageToken } from "../search/utils";
import type { Db, Dialect } from "./db";
import {
  aliasesOf, aliasProtos, AUTOFLUSH, among, allVersions, canonicalStage, checkLimits, fullModel, latestPerStage, limitOffset, modelAliases,
  modelProto, modelRow, modelTags, MODEL_COLUMNS, mustModel, pgInsert, pgUpdate, pySlice, STAGE_DELETED_INTERNAL, type Tag, tooLong,
  VERSION_COLUMNS, versionNotFound, versionParam, versionProtos, versionRow, WORKSPACE,
} from "./registry";
import { type Param, reprParams, sqlalchemyError } from "./sqlalchemy-errors";
import { join, raw, sql } from "./sql";

export interface ModelSearch {
  filter: string;
  maxResults: number;
  orderBy: readonly string[];
  pageToken?: string;
}

export class RegisteredModelStore {
  constructor(private readonly db: Db) {}

  get dialect(): Dialect {
    return this.db.dialect;
  }

  /**
   * create_registered_model. Tags are a dict (the last value of a key wins, in first-seen
   * order). A taken name is handle_resource_already_exist_error's message, which tells models
   * and prompts apart by the is_prompt tag's presence.
   */
  async create(name: string, description: string, tags: Tag[], requestHasPromptTag: boolean): Promise<M.mlflow_RegisteredModel> {
    const deduped = new Map<string, string>();
    for (const t of tags) deduped.set(t.key, t.value);
    return this.db.tx(async (tx) => {
      const now = Date.now();
      const overflow = tooLong(this.dialect, [[name, 256], [description, 5000]], () =>
        pgInsert("registered_models", ["workspace", "name", "creation_time", "last_updated_time", "description"], [[WORKSPACE, name, now, now, description]]),
      );
      if (overflow) throw overflow;
      const row = await tx.one(sql`
        INSERT INTO registered_models (name, creation_time, last_updated_time, description, workspace)
        VALUES (${name}, ${now}, ${now}, ${description}, ${WORKSPACE})
        ON CONFLICT DO NOTHING
        RETURNING name, creation_time, last_updated_time, description, workspace`);
      if (!row) {
        const existing = (await modelTags(tx, [name])).get(name)!;
        throw alreadyExists(name, existing.some((t) => t.key === IS_PROMPT_TAG_KEY), requestHasPromptTag);
      }
      const tagOverflow = tooLong(this.dialect, [...deduped.values()].map((v): [string, number] => [v, 5000]), () =>
        pgInsert("registered_model_tags", ["workspace", "name", "key", "value"], [...deduped].map(([k, v]) => [WORKSPACE, name, k, v]), ["workspace", "key", "name", "value"]),
      );
      if (tagOverflow) throw tagOverflow;
      if (deduped.size) {
        const values = [...deduped].map(([k, v]) => sql`(${k}, ${v}, ${name}, ${WORKSPACE})`);
        await tx.run(sql`INSERT INTO registered_model_tags (key, value, name, workspace) VALUES ${join(values, ", ")}`);
      }
      return modelProto(row, [], [...deduped].map(([key, value]) => ({ key, value })), []);
    });
  }

  async get(name: string): Promise<M.mlflow_RegisteredModel> {
    return fullModel(this.db, await mustModel(this.db, name));
  }

  /** update_registered_model: the description (the request's, "" when absent) and the time. */
  async update(name: string, description: string): Promise<M.mlflow_RegisteredModel> {
    return this.db.tx(async (tx) => {
      await mustModel(tx, name);
      const now = Date.now();
      const overflow = tooLong(this.dialect, [[description, 5000]], () =>
        pgUpdate("registered_models", [["last_updated_time", now], ["description", description]], [["workspace", WORKSPACE], ["name", name]]),
      );
      if (overflow) throw overflow;
      await tx.run(sql`
        UPDATE registered_models SET description = ${description}, last_updated_time = ${now}
        WHERE workspace = ${WORKSPACE} AND name = ${name}`);
      return fullModel(tx, (await modelRow(tx, name))!);
    });
  }

  /**
   * rename_registered_model: the name (versions, tags and aliases follow through the foreign
   * keys' ON UPDATE CASCADE) and the update time of the model and all its versions. A taken
   * name is the IntegrityError MLflow's autoflush meets, in its message.
   */
  async rename(name: string, newName: string): Promise<M.mlflow_RegisteredModel> {
    return this.db.tx(async (tx) => {
      await mustModel(tx, name);
      if (newName !== name) {
        const taken = await modelRow(tx, newName);
        if (taken) throw renameTaken(this.dialect, name, newName);
        const overflow = tooLong(
          this.dialect, [[newName, 256]], () => pgUpdate("registered_models", [["name", newName]], [["workspace", WORKSPACE], ["name", name]]), true,
        );
        if (overflow) throw overflow;
      }
      const now = Date.now();
      await tx.run(sql`UPDATE registered_models SET name = ${newName}, last_updated_time = ${now} WHERE workspace = ${WORKSPACE} AND name = ${name}`);
      await tx.run(sql`UPDATE model_versions SET last_updated_time = ${now} WHERE workspace = ${WORKSPACE} AND name = ${newName}`);
      return fullModel(tx, (await modelRow(tx, newName))!);
    });
  }

  /** delete_registered_model: the ORM's cascade deletes versions (with their tags), tags and aliases. */
  async delete(name: string): Promise<void> {
    await this.db.tx(async (tx) => {
      await mustModel(tx, name);
      for (const table of ["model_version_tags", "model_versions", "registered_model_tags", "registered_model_aliases", "registered_models"]) {
        await tx.run(sql`DELETE FROM ${raw(table)} WHERE workspace = ${WORKSPACE} AND name = ${name}`);
      }
    });
  }

  /**
   * search_registered_models: one statement for the page (LIMIT max_results + 1, OFFSET only
   * with a page token), one each for tags and aliases, and the latest version per stage with
   * _get_latest_versions_for_models' window query (plus their tags).
   */
  async search(p: ModelSearch): Promise<{ models: M.mlflow_RegisteredModel[]; nextPageToken?: string }> {
    if (p.maxResults > 1000) {
      throw MlflowError.invalid(`Invalid value for request parameter max_results. It must be at most 1000, but got value ${p.maxResults}`);
    }
    const clauses = parseModelFilter(p.filter);
    const orderBy = modelOrderBy(p.orderBy);
    const offset = registryStartOffset(p.pageToken);
    const { conditions, bindError } = modelFilterSql(clauses, this.dialect);
    const limit = p.maxResults + 1;
    checkLimits(this.dialect, limit, p.pageToken ? offset : 0);
    if (bindError) throw bindError;
    const rows = await this.db.all(sql`
      SELECT ${MODEL_COLUMNS} FROM registered_models
      WHERE ${join(conditions, " AND ")}
      ORDER BY ${orderBySql("registered_models", orderBy)}
      ${limitOffset(limit, p.pageToken ? offset : undefined)}`);
    const page = pySlice(rows, p.maxResults);
    const names = page.map((r) => r.name as string);
    const [tags, aliases, latest] = [await modelTags(this.db, names), await modelAliases(this.db, names), await this.latestVersions(names)];
    return {
      models: page.map((r) => modelProto(r, latest.get(r.name) ?? [], tags.get(r.name)!, aliasProtos(aliases.get(r.name)!))),
      nextPageToken: rows.length === limit ? createPageToken(offset + p.maxResults) : undefined,
    };
  }

  /** _get_latest_versions_for_models: the highest version per (model, stage), in the query's order. */
  private async latestVersions(names: string[]): Promise<Map<string, M.mlflow_ModelVersion[]>> {
    const out = new Map<string, M.mlflow_ModelVersion[]>();
    if (!names.length) return out;
    const rows = await this.db.all(sql`
      SELECT ${VERSION_COLUMNS} FROM model_versions JOIN (
        SELECT model_versions.workspace AS workspace, model_versions.name AS name, model_versions.version AS version,
          row_number() OVER (PARTITION BY model_versions.workspace, model_versions.name, model_versions.current_stage
                             ORDER BY model_versions.version DESC) AS rn
        FROM model_versions
        WHERE model_versions.workspace = ${WORKSPACE} AND ${among(this.dialect, sql`model_versions.name`, names)}
          AND model_versions.current_stage != ${STAGE_DELETED_INTERNAL}) AS anon_1
      ON model_versions.workspace = anon_1.workspace AND model_versions.name = anon_1.name AND model_versions.version = anon_1.version
      WHERE model_versions.workspace = ${WORKSPACE} AND anon_1.rn = 1`);
    const protos = await versionProtos(this.db, rows);
    rows.forEach((r, i) => {
      if (!out.has(r.name)) out.set(r.name, []);
      out.get(r.name)!.push(protos[i]!);
    });
    return out;
  }

  /**
   * get_latest_versions: the entity's latest version per stage (first-appearance order), kept
   * when its stage is asked for (all stages when none are), each with its aliases.
   */
  async latestOf(name: string, stages: string[] | undefined): Promise<M.mlflow_ModelVersion[]> {
    await mustModel(this.db, name);
    const wanted = stages?.length ? new Set(stages.map(canonicalStage)) : undefined;
    const versions = latestPerStage(await allVersions(this.db, name)).filter((v) => !wanted || wanted.has(v.current_stage));
    const aliases = (await modelAliases(this.db, [name])).get(name)!;
    return versionProtos(this.db, versions, (r) => aliasesOf(aliases, Number(r.version)));
  }

  /** set_registered_model_tag: upsert (session.merge). */
  async setTag(name: string, key: string, value: string): Promise<void> {
    await this.db.tx(async (tx) => {
      await mustModel(tx, name);
      const existing = await tx.one(sql`
        SELECT 1 AS x FROM registered_model_tags WHERE workspace = ${WORKSPACE} AND key = ${key} AND name = ${name}`);
      const overflow = tooLong(this.dialect, [[value, 5000]], () =>
        existing
          ? pgUpdate("registered_model_tags", [["value", value]], [["workspace", WORKSPACE], ["key", key], ["name", name]])
          : pgInsert("registered_model_tags", ["workspace", "name", "key", "value"], [[WORKSPACE, name, key, value]]),
      );
      if (overflow) throw overflow;
      await tx.run(sql`
        INSERT INTO registered_model_tags (key, value, name, workspace) VALUES (${key}, ${value}, ${name}, ${WORKSPACE})
        ON CONFLICT (workspace, key, name) DO UPDATE SET value = excluded.value`);
    });
  }

  /** delete_registered_model_tag: the model must exist; a missing tag is no error. */
  async deleteTag(name: string, key: string): Promise<void> {
    await this.db.tx(async (tx) => {
      await mustModel(tx, name);
      await tx.run(sql`DELETE FROM registered_model_tags WHERE workspace = ${WORKSPACE} AND name = ${name} AND key = ${key}`);
    });
  }

  /** set_registered_model_alias: the version must exist (and not be deleted); the alias moves to it. */
  async setAlias(name: string, alias: string, version: bigint): Promise<void> {
    await this.db.tx(async (tx) => {
      const param = versionParam(version, this.dialect);
      const row = param === undefined ? undefined : await versionRow(tx, name, param);
      if (!row) throw versionNotFound(name, version);
      await tx.run(sql`
        INSERT INTO registered_model_aliases (alias, version, name, workspace) VALUES (${alias}, ${row.version}, ${name}, ${WORKSPACE})
        ON CONFLICT (workspace, name, alias) DO UPDATE SET version = excluded.version`);
    });
  }

  /** delete_registered_model_alias: the model must exist; a missing alias is no error. */
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.db.tx(async (tx) => {
      await mustModel(tx, name);
      await tx.run(sql`DELETE FROM registered_model_aliases WHERE workspace = ${WORKSPACE} AND name = ${name} AND alias = ${alias}`);
    });
  }

  /** get_model_version_by_alias ("latest", any case: the highest version of the latest per stage). */
  async versionByAlias(name: string, alias: string): Promise<M.mlflow_ModelVersion> {
    if (alias.toLowerCase() === "latest") {
      const versions = await this.latestOf(name, undefined);
      if (!versions.length) throw MlflowError.notFound(`Latest version not found for model ${name}.`);
      return versions.reduce((a, b) => (Number(b.version) > Number(a.version) ? b : a));
    }
    await mustModel(this.db, name);
    const found = await this.db.one(sql`
      SELECT registered_model_aliases.version FROM registered_model_aliases
      WHERE registered_model_aliases.workspace = ${WORKSPACE} AND registered_model_aliases.name = ${name}
        AND registered_model_aliases.alias = ${alias}`);
    if (!found) throw MlflowError.invalid(`Registered model alias ${alias} not found.`);
    const row = await versionRow(this.db, name, Number(found.version));
    if (!row) throw versionNotFound(name, String(found.version));
    const aliases = (await modelAliases(this.db, [name])).get(name)!;
    const [v] = await versionProtos(this.db, [row], (r) => aliasesOf(aliases, Number(r.version)));
    return v!;
  }
}

/** handle_resource_already_exist_error */
function alreadyExists(name: string, existingIsPrompt: boolean, newIsPrompt: boolean): MlflowError {
  const [old, neu] = [existingIsPrompt ? "Prompt" : "Registered Model", newIsPrompt ? "Prompt" : "Registered Model"];
  if (old !== neu) {
    return new MlflowError(
      `Tried to create a ${neu.toLowerCase()} with name ${pyStrRepr(name)}, but the name is already taken by a ${old.toLowerCase()}. ` +
        "MLflow does not allow creating a model and a prompt with the same name.",
      "RESOURCE_ALREADY_EXISTS",
    );
  }
  return new MlflowError(`${neu} (name=${name}) already exists.`, "RESOURCE_ALREADY_EXISTS");
}

/** The IntegrityError of rename's autoflushed UPDATE, as MLflow wraps it. */
function renameTaken(dialect: Dialect, name: string, newName: string): MlflowError {
  const driver =
    dialect === "sqlite"
      ? "(sqlite3.IntegrityError) UNIQUE constraint failed: registered_models.workspace, registered_models.name"
      : `(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "registered_model_pk"\n` +
        `DETAIL:  Key (workspace, name)=(${WORKSPACE}, ${newName}) already exists.\n`;
  const statement: [string, string] =
    dialect === "sqlite"
      ? ["UPDATE registered_models SET name=? WHERE registered_models.workspace = ? AND registered_models.name = ?", reprParams([newName, WORKSPACE, name])]
      : [
          "UPDATE registered_models SET name=%(name)s WHERE registered_models.workspace = %(registered_models_workspace)s AND registered_models.name = %(registered_models_name)s",
          reprParams([["name", newName], ["registered_models_workspace", WORKSPACE], ["registered_models_name", name]] as [string, Param][]),
        ];
  return new MlflowError(`Registered Model (name=${newName}) already exists. Error: ${AUTOFLUSH}${sqlalchemyError(driver, statement, "gkpj")}`, "RESOURCE_ALREADY_EXISTS");
}

