// The registered-model handlers of handlers.py: each one's request schema, then the checks its
// store method makes before touching the database (in MLflow's order), then the store
// (store/registered-models.ts), then the webhook MLflow delivers for the write (services/webhooks.ts).
import type * as M from "../generated/types";
import { IS_PROMPT_TAG_KEY } from "../search/registry";
import type { Stores } from "../store";
import type { RequestContext } from "./context";
import {
  atMost, parseVersion, pythonHandler, validateAliasName, validateAliasNameReserved, validateModelName, validateModelRenaming,
  validateRegisteredModelTag, validateTagName,
} from "./registry";
import { validate } from "./validate";
import { EVENTS, payload, registeredModelCreated } from "./webhook-payloads";
import { webhooksFor } from "./webhooks";

export function registeredModelsService(stores: Stores) {
  const store = stores.registeredModels;
  const webhooks = webhooksFor(stores);
  const named = (ctx: RequestContext) => validate({ name: ["string", "required"] }, ctx);

  return {
    async createRegisteredModel(req: M.mlflow_CreateRegisteredModel, ctx: RequestContext): Promise<M.mlflow_CreateRegisteredModel_Response> {
      validate({ name: ["string", "required"], tags: ["array"], description: ["string"] }, ctx);
      const name = req.name!;
      const tags = (req.tags ?? []).map((t) => ({ key: t.key ?? "", value: t.value ?? "" }));
      validateModelName(name);
      for (const t of tags) validateRegisteredModelTag(t.key, t.value);
      const hasPromptTag = tags.some((t) => t.key === IS_PROMPT_TAG_KEY);
      const registered_model = await store.create(name, req.description ?? "", tags, hasPromptTag);
      const hook = registeredModelCreated(name, tags, req.description ?? "");
      webhooks.deliver(hook.event, hook.data);
      return { registered_model };
    },

    async getRegisteredModel(req: M.mlflow_GetRegisteredModel, ctx: RequestContext): Promise<M.mlflow_GetRegisteredModel_Response> {
      named(ctx);
      validateModelName(req.name!);
      return { registered_model: await store.get(req.name!) };
    },

    async updateRegisteredModel(req: M.mlflow_UpdateRegisteredModel, ctx: RequestContext): Promise<M.mlflow_UpdateRegisteredModel_Response> {
      validate({ name: ["string", "required"], description: ["string"] }, ctx);
      validateModelName(req.name!);
      return { registered_model: await store.update(req.name!, req.description ?? "") };
    },

    async renameRegisteredModel(req: M.mlflow_RenameRegisteredModel, ctx: RequestContext): Promise<M.mlflow_RenameRegisteredModel_Response> {
      validate({ name: ["string", "required"], new_name: ["string", "required"] }, ctx);
      validateModelRenaming(req.new_name!);
      validateModelName(req.name!);
      return { registered_model: await store.rename(req.name!, req.new_name!) };
    },

    async deleteRegisteredModel(req: M.mlflow_DeleteRegisteredModel, ctx: RequestContext): Promise<M.mlflow_DeleteRegisteredModel_Response> {
      named(ctx);
      validateModelName(req.name!);
      await store.delete(req.name!);
      return {};
    },

    async searchRegisteredModels(req: M.mlflow_SearchRegisteredModels, ctx: RequestContext): Promise<M.mlflow_SearchRegisteredModels_Response> {
      return pythonHandler(async () => {
        validate(
          { filter: ["string"], max_results: ["intlike", atMost(1000, "max_results")], order_by: ["array", "itemsString"], page_token: ["string"] },
          ctx,
        );
        const { models, nextPageToken } = await store.search({
          filter: req.filter ?? "",
          maxResults: Number(req.max_results ?? 100),
          orderBy: req.order_by ?? [],
          pageToken: req.page_token || undefined,
        });
        const response: M.mlflow_SearchRegisteredModels_Response = {};
        if (models.length) response.registered_models = models;
        if (nextPageToken) response.next_page_token = nextPageToken;
        return response;
      });
    },

    async getLatestVersions(req: M.mlflow_GetLatestVersions, ctx: RequestContext): Promise<M.mlflow_GetLatestVersions_Response> {
      validate({ name: ["string", "required"], stages: ["array", "itemsString"] }, ctx);
      validateModelName(req.name!);
      const versions = await store.latestOf(req.name!, req.stages ?? []);
      return versions.length ? { model_versions: versions } : {};
    },

    async setRegisteredModelTag(req: M.mlflow_SetRegisteredModelTag, ctx: RequestContext): Promise<M.mlflow_SetRegisteredModelTag_Response> {
      validate({ name: ["string", "required"], key: ["string", "required"], value: ["string"] }, ctx);
      validateModelName(req.name!);
      validateRegisteredModelTag(req.key!, req.value ?? "");
      await store.setTag(req.name!, req.key!, req.value ?? "");
      webhooks.afterWrite(req.name!, { prompt: EVENTS.promptTagSet }, payload([["name", req.name!], ["key", req.key!], ["value", req.value ?? ""]]));
      return {};
    },

    async deleteRegisteredModelTag(req: M.mlflow_DeleteRegisteredModelTag, ctx: RequestContext): Promise<M.mlflow_DeleteRegisteredModelTag_Response> {
      validate({ name: ["string", "required"], key: ["string", "required"] }, ctx);
      validateModelName(req.name!);
      validateTagName(req.key!);
      await store.deleteTag(req.name!, req.key!);
      webhooks.afterWrite(req.name!, { prompt: EVENTS.promptTagDeleted }, payload([["name", req.name!], ["key", req.key!]]));
      return {};
    },

    async setRegisteredModelAlias(req: M.mlflow_SetRegisteredModelAlias, ctx: RequestContext): Promise<M.mlflow_SetRegisteredModelAlias_Response> {
      validate({ name: ["string", "required"], alias: ["string", "required"], version: ["string", "required"] }, ctx);
      validateModelName(req.name!);
      validateAliasName(req.alias!);
      validateAliasNameReserved(req.alias!);
      const version = parseVersion(req.version!);
      validateModelName(req.name!);
      await store.setAlias(req.name!, req.alias!, version);
      webhooks.afterWrite(
        req.name!, { model: EVENTS.modelVersionAliasCreated, prompt: EVENTS.promptAliasCreated },
        payload([["name", req.name!], ["alias", req.alias!], ["version", req.version!]]),
      );
      return {};
    },

    async deleteRegisteredModelAlias(req: M.mlflow_DeleteRegisteredModelAlias, ctx: RequestContext): Promise<M.mlflow_DeleteRegisteredModelAlias_Response> {
      validate({ name: ["string", "required"], alias: ["string", "required"] }, ctx);
      validateModelName(req.name!);
      validateAliasName(req.alias!);
      await store.deleteAlias(req.name!, req.alias!);
      webhooks.afterWrite(
        req.name!, { model: EVENTS.modelVersionAliasDeleted, prompt: EVENTS.promptAliasDeleted }, payload([["name", req.name!], ["alias", req.alias!]]),
      );
      return {};
    },

    async getModelVersionByAlias(req: M.mlflow_GetModelVersionByAlias, ctx: RequestContext): Promise<M.mlflow_GetModelVersionByAlias_Response> {
      validate({ name: ["string", "required"], alias: ["string", "required"] }, ctx);
      validateModelName(req.name!);
      validateAliasName(req.alias!);
      return { model_version: await store.versionByAlias(req.name!, req.alias!) };
    },
  };
}

