// What each registry write delivers: the events of mlflow/entities/webhook.py and the payloads
// handlers.py builds for them (mlflow/webhooks/types.py), from the request as the handler read
// it. Payloads are Python dicts (PyDict): their key order is the keyword order of MLflow's
// TypedDict calls, and json.dumps prints them in that order.
import { PyDict, type PyValue } from "../python/builtins";
import { IS_PROMPT_TAG_KEY } from "../search/registry";
import { PROMPT_TEXT_TAG_KEY } from "./registry";

export interface WebhookEvent {
  entity: string;
  action: string;
}

/** WebhookEvent.__str__ */
export const eventName = (e: WebhookEvent) => `${e.entity}.${e.action}`;

const event = (entity: string, action: string): WebhookEvent => ({ entity, action });
export const EVENTS = {
  registeredModelCreated: event("registered_model", "created"),
  modelVersionCreated: event("model_version", "created"),
  modelVersionTagSet: event("model_version_tag", "set"),
  modelVersionTagDeleted: event("model_version_tag", "deleted"),
  modelVersionAliasCreated: event("model_version_alias", "created"),
  modelVersionAliasDeleted: event("model_version_alias", "deleted"),
  promptCreated: event("prompt", "created"),
  promptVersionCreated: event("prompt_version", "created"),
  promptTagSet: event("prompt_tag", "set"),
  promptTagDeleted: event("prompt_tag", "deleted"),
  promptVersionTagSet: event("prompt_version_tag", "set"),
  promptVersionTagDeleted: event("prompt_version_tag", "deleted"),
  promptAliasCreated: event("prompt_alias", "created"),
  promptAliasDeleted: event("prompt_alias", "deleted"),
} as const;

/** handlers.py's PROMPT_TYPE_TAG_KEY (mlflow/prompt/constants.py). */
const PROMPT_TYPE_TAG_KEY = "_mlflow_prompt_type";

export type Tag = { key: string; value: string };

export const payload = (entries: [string, PyValue][]) => new PyDict(entries);

/** `{t.key: t.value for t in tags}`: the last value of a key wins, at the key's first position. */
function tagDict(tags: readonly Tag[], drop: readonly string[] = []): Map<string, string> {
  const dict = new Map<string, string>();
  for (const t of tags) dict.set(t.key, t.value);
  for (const key of drop) dict.delete(key);
  return dict;
}

const pyTags = (dict: Map<string, string>) => new PyDict([...dict]);

/** _is_prompt_request: the request's tags as a dict, is_prompt compared case-insensitively to "true". */
export function isPromptRequest(tags: readonly Tag[]): boolean {
  return (tagDict(tags).get(IS_PROMPT_TAG_KEY) ?? "false").toLowerCase() === "true";
}

/** _create_registered_model: prompt.created without the prompt marker tags, else registered_model.created. */
export function registeredModelCreated(name: string, tags: readonly Tag[], description: string): { event: WebhookEvent; data: PyDict } {
  if (isPromptRequest(tags)) {
    return {
      event: EVENTS.promptCreated,
      data: payload([["name", name], ["tags", pyTags(tagDict(tags, [IS_PROMPT_TAG_KEY, PROMPT_TYPE_TAG_KEY]))], ["description", description]]),
    };
  }
  return { event: EVENTS.registeredModelCreated, data: payload([["name", name], ["tags", pyTags(tagDict(tags))], ["description", description]]) };
}

export interface VersionCreated {
  name: string;
  version: string;
  isPrompt: boolean;
  tags: readonly Tag[];
  /** request_message.description: "" when unset (the payload then says null). */
  description: string;
  /** The source and run id after _resolve_registered_model_source_lineage (models only). */
  source: string;
  runId: string | null;
}

/** _create_model_version: prompt_version.created (the template taken out of the tags) or model_version.created. */
export function modelVersionCreated(v: VersionCreated): { event: WebhookEvent; data: PyDict } {
  const description = v.description || null;
  if (v.isPrompt) {
    const tags = tagDict(v.tags, [IS_PROMPT_TAG_KEY, PROMPT_TYPE_TAG_KEY]);
    const template = tagDict(v.tags).get(PROMPT_TEXT_TAG_KEY) ?? null;
    tags.delete(PROMPT_TEXT_TAG_KEY);
    return {
      event: EVENTS.promptVersionCreated,
      data: payload([["name", v.name], ["version", v.version], ["template", template], ["tags", pyTags(tags)], ["description", description]]),
    };
  }
  return {
    event: EVENTS.modelVersionCreated,
    data: payload([
      ["name", v.name], ["version", v.version], ["source", v.source], ["run_id", v.runId || null], ["tags", pyTags(tagDict(v.tags))],
      ["description", description],
    ]),
  };
}
