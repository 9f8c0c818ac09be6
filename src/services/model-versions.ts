// The model-version handlers of handlers.py: each one's request schema, then MLflow's checks in
// MLflow's order (handler, then what the store method validates before its queries), then the
// store (store/model-versions.ts). create-model-version's source rules are in model-sources.ts.
// After a successful write, the webhook MLflow delivers for it (services/webhooks.ts).
import type { Config } from "../config";
import { MlflowError } from "../errors";
import type * as M from "../generated/types";
import { urlparse } from "../python/urllib";
import { IS_PROMPT_TAG_KEY } from "../search/registry";
import type { Stores } from "../store";
import { canonicalStage } from "../store/registry";
import { has, type RequestContext } from "./context";
import { rejectedHostScheme } from "./experiments";
import {
  parseModelUri, parseModelVersionSource, type SourceLookups, validateSourceModel, validateSourceRun,
} from "./model-sources";
import {
  atMost, parseVersion, pythonHandler, validateAliasName, validateModelName, validateModelVersionTag, validateTagName,
} from "./registry";
import { validate } from "./validate";
import { flaskInternalServerError } from "./flask";
import { EVENTS, modelVersionCreated, payload } from "./webhook-payloads";
import { webhooksFor } from "./webhooks";

const invalid = MlflowError.invalid;
const PROMPT_SOURCES = ["dummy-source", "prompt-template"];
const ACTIVE_STAGES = ["Staging", "Production"];

export function modelVersionsService(stores: Stores, config: Config) {
  const store = stores.modelVersions;
  const models = stores.registeredModels;
  const webhooks = webhooksFor(stores);
  const lookups: SourceLookups = {
    runArtifactUri: (runId) => store.runArtifactUri(runId),
    loggedModelLocation: async (modelId) => (await store.loggedModel(modelId))?.artifactLocation,
  };
  const nameAndVersion = (ctx: RequestContext) => validate({ name: ["string", "required"], version: ["string", "required"] }, ctx);

  /**
   * _resolve_registered_model_source_lineage: a models:/name/<version|stage|latest|@alias> source
   * becomes models:/name/<version>, and the run (and model) ids default to that version's.
   */
  async function lineage(source: string, runId: string | null, modelId: string | null, hasRunId: boolean, hasModelId: boolean) {
    const parsed = urlparse(source);
    if (parsed.scheme !== "models") return { source, runId, modelId };
    if (parsed.netloc) throw invalid(`Invalid model version source: '${source}'. Registered model sources must use the active model registry.`);
    const uri = parseModelVersionSource(source);
    if (uri.modelId !== undefined) return { source, runId, modelId };
    const name = uri.name!;
    validateModelName(name);
    const rm = await models.get(name);
    const promptTag = rm.tags?.find((t) => t.key === IS_PROMPT_TAG_KEY);
    if ((promptTag?.value ?? "false").toLowerCase() === "true") {
      throw invalid(`Invalid model version source: '${source}'. Prompt versions cannot be used as model version sources.`);
    }
    // get_model_name_and_version
    let version: string;
    if (uri.version !== undefined) version = uri.version;
    else if (uri.alias !== undefined) {
      validateModelName(name);
      validateAliasName(uri.alias);
      version = (await models.versionByAlias(name, uri.alias)).version!;
    } else {
      validateModelName(name);
      const latest = await models.latestOf(name, uri.stage === undefined ? undefined : [uri.stage]);
      if (!latest.length) throw new MlflowError(`No versions of model with name '${name}'${uri.stage === undefined ? "" : ` and stage '${uri.stage}'`} found`);
      version = String(Math.max(...latest.map((v) => Number(v.version))));
    }
    validateModelName(name);
    const row = await store.sourceVersion(name, parseVersion(version));
    if ((hasRunId && (runId ?? "") !== (row.run_id ?? "")) || (hasModelId && (modelId ?? "") !== "")) {
      throw invalid(`Invalid model version source: '${source}'. The run_id and model_id request parameters must match the referenced model version.`);
    }
    return { source: `models:/${name}/${row.version}`, runId: hasRunId ? runId : (row.run_id as string | null), modelId: hasModelId ? modelId : null };
  }

  return {
    async createModelVersion(req: M.mlflow_CreateModelVersion, ctx: RequestContext): Promise<M.mlflow_CreateModelVersion_Response> {
      return pythonHandler(async () => {
        validate(
          {
            name: ["string", "required"], source: ["string", "required"], run_id: ["string"], tags: ["array"], run_link: ["string"],
            description: ["string"], model_id: ["string"],
          },
          ctx,
        );
        const name = req.name!;
        const tags = (req.tags ?? []).map((t) => ({ key: t.key ?? "", value: t.value ?? "" }));
        const regex = process.env.MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX;
        if (req.source && regex && !new RegExp(regex, "u").test(req.source)) throw invalid(`Invalid model version source: '${req.source}'.`);
        // _is_prompt_request: tags collapse by key (the last value wins)
        const promptTag = new Map(tags.map((t) => [t.key, t.value])).get(IS_PROMPT_TAG_KEY);
        const isPrompt = (promptTag ?? "false").toLowerCase() === "true";
        if (isPrompt && !PROMPT_SOURCES.includes(req.source!)) {
          throw invalid(`Invalid prompt source: '${req.source}'. Prompt sources must use an MLflow placeholder.`);
        }
        const scheme = rejectedHostScheme(req.source!, config);
        if (scheme !== undefined) {
          throw invalid(
            `'source' cannot use the '${scheme}' scheme: the '${scheme}' scheme addresses a host other than the tracking server's ` +
              "configured artifact storage, so the server would connect to the host named in the URI. Set the " +
              "MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES environment variable on the server to allow it.",
          );
        }
        let source = req.source!;
        let runId: string | null = req.run_id ?? "";
        let modelId: string | null = req.model_id ?? "";
        if (!isPrompt) {
          ({ source, runId, modelId } = await lineage(source, runId, modelId, has(req, "run_id"), has(req, "model_id")));
          if (modelId) await validateSourceModel(source, modelId, lookups);
          else await validateSourceRun(source, runId ?? "", lookups);
        }
        // the payload's run_id is the handler's, before the store fills it in from a logged model
        const hookRunId = runId;
        // SqlAlchemyStore.create_model_version, before its session
        validateModelName(name);
        for (const t of tags) validateModelVersionTag(t.key, t.value);
        let storageLocation = source;
        if (urlparse(source).scheme === "models") {
          const uri = parseModelUri(source);
          try {
            if (uri.modelId !== undefined) {
              const model = await store.loggedModel(uri.modelId);
              if (!model) throw MlflowError.notFound(`Logged model with ID '${uri.modelId}' not found.`);
              storageLocation = model.artifactLocation;
              runId = runId || model.sourceRunId;
            } else {
              validateModelName(uri.name!);
              storageLocation = await store.downloadUri(uri.name!, parseVersion(uri.version ?? "None"));
            }
          } catch (e) {
            if (!(e instanceof MlflowError)) throw e;
            throw new MlflowError(`Unable to fetch model from model URI source artifact location '${source}'.Error: ${e.message}`);
          }
        }
        if (!runId && modelId) {
          const model = await store.loggedModel(modelId);
          if (!model) throw MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
          runId = model.sourceRunId;
        }
        const { version, after } = await store.create({
          name, source, storageLocation, runId, runLink: req.run_link ?? "", description: req.description ?? "", tags,
          modelId: !isPrompt && modelId ? modelId : undefined,
        });
        if (after === "internal-server-error") return flaskInternalServerError() as never;
        if (after) throw after;
        const hook = modelVersionCreated({
          name, version: String(version.version), isPrompt, tags, description: req.description ?? "", source, runId: hookRunId,
        });
        webhooks.deliver(hook.event, hook.data);
        return { model_version: version };
      });
    },

    async getModelVersion(req: M.mlflow_GetModelVersion, ctx: RequestContext): Promise<M.mlflow_GetModelVersion_Response> {
      nameAndVersion(ctx);
      validateModelName(req.name!);
      return { model_version: await store.get(req.name!, parseVersion(req.version!)) };
    },

    async updateModelVersion(req: M.mlflow_UpdateModelVersion, ctx: RequestContext): Promise<M.mlflow_UpdateModelVersion_Response> {
      validate({ name: ["string", "required"], version: ["string", "required"], description: ["string"] }, ctx);
      const description = has(req, "description") ? (req.description ?? "") : null;
      validateModelName(req.name!);
      return { model_version: await store.update(req.name!, parseVersion(req.version!), description) };
    },

    async transitionModelVersionStage(req: M.mlflow_TransitionModelVersionStage, ctx: RequestContext): Promise<M.mlflow_TransitionModelVersionStage_Response> {
      validate(
        { name: ["string", "required"], version: ["string", "required"], stage: ["string", "required"], archive_existing_versions: ["bool"] },
        ctx,
      );
      const stage = canonicalStage(req.stage!);
      const archive = !!req.archive_existing_versions;
      if (archive && !ACTIVE_STAGES.includes(stage)) {
        throw new MlflowError(
          `Model version transition cannot archive existing model versions because '${req.stage}' is not an Active stage. ` +
            "Valid stages are ['Staging', 'Production']",
        );
      }
      const checks = () => {
        validateModelName(req.name!);
        return parseVersion(req.version!);
      };
      return { model_version: await store.transition(req.name!, req.version!, stage, archive, checks) };
    },

    async deleteModelVersion(req: M.mlflow_DeleteModelVersion, ctx: RequestContext): Promise<M.mlflow_DeleteModelVersion_Response> {
      nameAndVersion(ctx);
      const version = parseVersion(req.version!);
      validateModelName(req.name!);
      await store.delete(req.name!, version);
      return {};
    },

    async getModelVersionDownloadUri(req: M.mlflow_GetModelVersionDownloadUri): Promise<M.mlflow_GetModelVersionDownloadUri_Response> {
      // no request schema: empty fields reach the store's own checks
      validateModelName(req.name ?? "");
      return { artifact_uri: await store.downloadUri(req.name ?? "", parseVersion(req.version ?? "")) };
    },

    async searchModelVersions(req: M.mlflow_SearchModelVersions, ctx: RequestContext): Promise<M.mlflow_SearchModelVersions_Response> {
      return pythonHandler(async () => {
        validate(
          { filter: ["string"], max_results: ["intlike", atMost(200_000, "max_results")], order_by: ["array", "itemsString"], page_token: ["string"] },
          ctx,
        );
        const { versions, nextPageToken } = await store.search({
          filter: req.filter ?? "",
          maxResults: Number(req.max_results ?? 200_000),
          orderBy: req.order_by ?? [],
          pageToken: req.page_token || undefined,
        });
        const response: M.mlflow_SearchModelVersions_Response = {};
        if (versions.length) response.model_versions = versions;
        if (nextPageToken) response.next_page_token = nextPageToken;
        return response;
      });
    },

    async setModelVersionTag(req: M.mlflow_SetModelVersionTag, ctx: RequestContext): Promise<M.mlflow_SetModelVersionTag_Response> {
      validate({ name: ["string", "required"], version: ["string", "required"], key: ["string", "required"], value: ["string"] }, ctx);
      validateModelName(req.name!);
      const version = parseVersion(req.version!);
      validateModelVersionTag(req.key!, req.value ?? "");
      await store.setTag(req.name!, version, req.key!, req.value ?? "");
      webhooks.afterWrite(
        req.name!, { model: EVENTS.modelVersionTagSet, prompt: EVENTS.promptVersionTagSet },
        payload([["name", req.name!], ["version", req.version!], ["key", req.key!], ["value", req.value ?? ""]]),
      );
      return {};
    },

    async deleteModelVersionTag(req: M.mlflow_DeleteModelVersionTag, ctx: RequestContext): Promise<M.mlflow_DeleteModelVersionTag_Response> {
      validate({ name: ["string", "required"], version: ["string", "required"], key: ["string", "required"] }, ctx);
      validateModelName(req.name!);
      const version = parseVersion(req.version!);
      validateTagName(req.key!);
      await store.deleteTag(req.name!, version, req.key!);
      webhooks.afterWrite(
        req.name!, { model: EVENTS.modelVersionTagDeleted, prompt: EVENTS.promptVersionTagDeleted },
        payload([["name", req.name!], ["version", req.version!], ["key", req.key!]]),
      );
      return {};
    },
  };
}
