// Webhook delivery after registry writes: mlflow/webhooks/delivery.py's deliver_webhook. The
// registry services call it once the write has committed and the request succeeded; it never
// delays or fails the answer (everything runs after it, and failures are only logged).
//
// Per event: the subscribed webhooks (store/webhooks.ts) come from a TTL cache
// (MLFLOW_WEBHOOK_CACHE_TTL, 60 s); their secrets are Fernet tokens decrypted with
// MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY as EncryptedString does when the ORM loads the rows, so a
// token that does not decrypt fails the whole listing and the event is delivered to no one (as
// in MLflow, whose key is a random one per process when the variable is unset). Active webhooks
// are each sent the JSON envelope, signed, by at most MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS
// concurrent senders (webhook-http.ts sends, retries and checks peers).
import { createDecipheriv, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { lookup } from "node:dns/promises";
import { PyDict, pyInt, pyJsonDumps, pyStrip, pyStrRepr } from "../python/builtins";
import { isPublicIp, parseIp } from "../python/ipaddress";
import { hostname, urlparse } from "../python/urllib";
import { IS_PROMPT_TAG_KEY } from "../search/registry";
import type { Stores } from "../store";
import type { StoredWebhook } from "../store/webhooks";
import { eventName, type WebhookEvent } from "./webhook-payloads";
import { postWebhook } from "./webhook-http";

type Env = Record<string, string | undefined>;
/** A subscribed webhook, its secret decrypted. */
type Webhook = StoredWebhook;

// ---- environment, read when MLflow reads it ---------------------------------------------------

/** _EnvironmentVariable(name, int, default).get(): int() of the value, ValueError otherwise. */
function envInt(env: Env, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined) return fallback;
  const n = pyInt(value);
  if (n === undefined) throw new Error(`invalid literal for int() with base 10: ${pyStrRepr(value)}`);
  return Number(n);
}

/** _BooleanEnvironmentVariable.get() */
function envBool(env: Env, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined) return fallback;
  const lowered = value.toLowerCase();
  if (!["true", "false", "1", "0"].includes(lowered)) {
    throw new Error(`${name} value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got ${value}`);
  }
  return lowered === "true" || lowered === "1";
}

// ---- cryptography's Fernet (decrypt, ttl=None) -----------------------------------------------

class InvalidToken extends Error {
  constructor() {
    super("InvalidToken");
  }
}

const urlsafeB64decode = (s: string) => Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");

/** Fernet(key).decrypt(token).decode(): HMAC-SHA256 checked, then AES-128-CBC with PKCS7 padding. */
export function fernetDecrypt(key: string, token: string): string {
  const k = urlsafeB64decode(key);
  if (k.length !== 32) throw new Error("Fernet key must be 32 url-safe base64-encoded bytes.");
  const data = urlsafeB64decode(token);
  // version byte, 8-byte timestamp, 16-byte IV, at least one cipher block, 32-byte HMAC
  if (data.length < 1 + 8 + 16 + 16 + 32 || data[0] !== 0x80) throw new InvalidToken();
  const mac = createHmac("sha256", k.subarray(0, 16)).update(data.subarray(0, -32)).digest();
  if (!timingSafeEqual(mac, data.subarray(-32))) throw new InvalidToken();
  let plain: Buffer;
  try {
    const decipher = createDecipheriv("aes-128-cbc", k.subarray(16), data.subarray(9, 25));
    plain = Buffer.concat([decipher.update(data.subarray(25, -32)), decipher.final()]);
  } catch {
    throw new InvalidToken();
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(plain);
}

// ---- the envelope and its signature ----------------------------------------------------------

/** datetime.now(timezone.utc).isoformat(): microseconds (left out when zero) and +00:00. */
export function isoNowUtc(): string {
  // the wall clock's milliseconds; the microseconds below them from the monotonic clock
  const ms = Date.now();
  const fraction = (ms % 1000) * 1000 + Math.floor((performance.now() % 1) * 1000);
  const base = new Date(ms).toISOString().slice(0, 19);
  return `${base}${fraction ? "." + String(fraction).padStart(6, "0") : ""}+00:00`;
}

/** _generate_hmac_signature: "v1," + base64(HMAC-SHA256(secret, "<id>.<timestamp>.<payload>")). */
export function signature(secret: string, deliveryId: string, timestamp: string, payload: string): string {
  return `v1,${createHmac("sha256", Buffer.from(secret, "utf8")).update(`${deliveryId}.${timestamp}.${payload}`, "utf8").digest("base64")}`;
}

// ---- utils/validation.py: _validate_webhook_url ----------------------------------------------

const RESOLUTION_TIMEOUT_MS = 5000;

async function validateWebhookUrl(url: string, env: Env): Promise<void> {
  if (!pyStrip(url)) throw new Error(`Webhook URL cannot be empty or just whitespace: ${pyStrRepr(url)}`);
  let parsed;
  try {
    parsed = urlparse(url);
  } catch (e) {
    throw new Error(`Invalid webhook URL ${pyStrRepr(url)}: ValueError(${pyStrRepr((e as Error).message)})`);
  }
  const schemes = (env.MLFLOW_WEBHOOK_ALLOWED_SCHEMES ?? "https").split(",").map((s) => s.trim());
  if (!schemes.includes(parsed.scheme)) {
    throw new Error(`Invalid webhook URL scheme: ${pyStrRepr(parsed.scheme)}. Allowed schemes are: ${schemes.join(", ")}.`);
  }
  const host = hostname(parsed.netloc);
  if (!host) throw new Error(`Webhook URL must include a hostname: ${pyStrRepr(url)}`);
  if (envBool(env, "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", false)) return;
  let addresses: { address: string }[];
  try {
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Timed out resolving Webhook URL hostname ${pyStrRepr(host)} after 5 seconds`)), RESOLUTION_TIMEOUT_MS);
    });
    addresses = await Promise.race([lookup(host.split("%")[0]!, { all: true }), timeout]).finally(() => clearTimeout(timer));
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(message.startsWith("Timed out") ? message : `Cannot resolve Webhook URL hostname ${pyStrRepr(host)}: ${message}`);
  }
  for (const { address } of addresses) {
    const ip = parseIp(address);
    if (!ip) throw new Error(`Webhook URL hostname ${pyStrRepr(host)} resolved to an invalid IP address: ${address}`);
    if (!isPublicIp(ip)) throw new Error(`Webhook URL must not resolve to a non-public IP address. ${pyStrRepr(host)} resolves to ${address}.`);
  }
}

// ---- delivery --------------------------------------------------------------------------------

/** The ThreadPoolExecutor's bound: at most `size` sends at once, the rest queued in order. */
class Pool {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    if (this.active >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

const inFlight = new Set<Promise<void>>();

/** Resolves once every delivery started so far (and any they started) has finished. */
export async function webhookDeliveriesSettled(): Promise<void> {
  while (inFlight.size) await Promise.allSettled([...inFlight]);
}

function track(work: () => Promise<void>): void {
  const p = work().catch((e) => console.error(`Webhook delivery failed: ${(e as Error).message}`));
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
}

const log = (message: string) => console.error(message);

export class WebhookDelivery {
  private readonly cache = new Map<string, { expires: number; webhooks: Webhook[] }>();
  private readonly loading = new Map<string, Promise<Webhook[]>>();
  private readonly pool: Pool;

  constructor(
    private readonly stores: Stores,
    private readonly env: Env = process.env,
  ) {
    this.pool = new Pool(Math.max(1, envInt(env, "MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS", 10)));
  }

  /** deliver_webhook(event=..., payload=...): for events decided by the request (creations). */
  deliver(event: WebhookEvent, data: PyDict): void {
    track(() => this.deliverNow(event, data));
  }

  /**
   * The handlers that ask `_is_prompt(name)` after the write (tags, aliases): the model's is_prompt
   * tag picks the prompt event or the model one (none for registered-model tags of a model). The
   * model is only looked up when a webhook listens to one of the two.
   */
  afterWrite(name: string, events: { model?: WebhookEvent; prompt: WebhookEvent }, data: PyDict): void {
    track(async () => {
      const candidates = [events.prompt, ...(events.model ? [events.model] : [])];
      const listened = await Promise.all(candidates.map((e) => this.subscribed(e).then((w) => w.some((x) => x.status === "ACTIVE"), () => true)));
      if (!listened.some(Boolean)) return;
      let isPrompt: boolean;
      try {
        const model = await this.stores.registeredModels.get(name);
        const tag = model.tags?.find((t) => t.key === IS_PROMPT_TAG_KEY);
        isPrompt = (tag?.value ?? "false").toLowerCase() === "true";
      } catch (e) {
        return log(`Failed to deliver webhook for registered model ${pyStrRepr(name)}: ${(e as Error).message}`);
      }
      const event = isPrompt ? events.prompt : events.model;
      if (event) await this.deliverNow(event, data);
    });
  }

  private async deliverNow(event: WebhookEvent, data: PyDict): Promise<void> {
    let webhooks: Webhook[];
    try {
      webhooks = await this.subscribed(event);
    } catch (e) {
      return log(`Failed to deliver webhook for event ${eventName(event)}: ${(e as Error).message}`);
    }
    const active = webhooks.filter((w) => w.status === "ACTIVE");
    await Promise.all(active.map((w) => this.pool.run(() => this.send(w, event, data))));
  }

  /** _get_cached_webhooks_by_event: a failed listing is not cached; one listing per event at a time. */
  private subscribed(event: WebhookEvent): Promise<Webhook[]> {
    const key = eventName(event);
    const hit = this.cache.get(key);
    if (hit && Date.now() < hit.expires) return Promise.resolve(hit.webhooks);
    const pending = this.loading.get(key);
    if (pending) return pending;
    const load = (async () => {
      try {
        const rows = await this.stores.webhooks.subscribedTo(event.entity, event.action);
        const webhooks = rows.map((r) => ({ ...r, secret: r.secret === null ? null : this.decrypt(r) }));
        for (const w of webhooks) {
          if (w.status !== "ACTIVE" && w.status !== "DISABLED") throw new Error(`${pyStrRepr(w.status)} is not a valid WebhookStatus`);
        }
        const ttl = envInt(this.env, "MLFLOW_WEBHOOK_CACHE_TTL", 60);
        if (ttl > 0) this.cache.set(key, { expires: Date.now() + ttl * 1000, webhooks });
        return webhooks;
      } finally {
        this.loading.delete(key);
      }
    })();
    this.loading.set(key, load);
    return load;
  }

  private decrypt(row: StoredWebhook): string {
    const key = this.env.MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY;
    if (!key) {
      throw new Error(
        `the secret of webhook ${row.webhookId} cannot be decrypted: MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY is not set ` +
          "(MLflow then encrypts with a random key per process)",
      );
    }
    try {
      return fernetDecrypt(key, row.secret!);
    } catch (e) {
      throw new Error(`the secret of webhook ${row.webhookId} cannot be decrypted with MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY: ${(e as Error).message}`);
    }
  }

  /** _send_webhook_with_error_handling(_send_webhook_request(...)) */
  private async send(webhook: Webhook, event: WebhookEvent, data: PyDict): Promise<void> {
    try {
      await validateWebhookUrl(webhook.url, this.env);
      const payload = pyJsonDumps(new PyDict([["entity", event.entity], ["action", event.action], ["timestamp", isoNowUtc()], ["data", data]]));
      const deliveryId = randomUUID();
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: [string, string][] = [
        ["Content-Type", "application/json"],
        ["X-MLflow-Delivery-Id", deliveryId],
        ["X-MLflow-Timestamp", timestamp],
      ];
      if (webhook.secret) headers.push(["X-MLflow-Signature", signature(webhook.secret, deliveryId, timestamp, payload)]);
      await postWebhook(webhook.url, Buffer.from(payload, "utf8"), headers, {
        timeoutMs: envInt(this.env, "MLFLOW_WEBHOOK_REQUEST_TIMEOUT", 30) * 1000,
        maxRetries: envInt(this.env, "MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES", 3),
        allowPrivateIps: envBool(this.env, "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", false),
      });
    } catch (e) {
      log(`Failed to send webhook to ${webhook.url} for event ${eventName(event)}: ${(e as Error).message}`);
    }
  }
}

const deliveries = new WeakMap<Stores, WebhookDelivery>();

/** The one delivery (cache, worker bound) of a server's stores. */
export function webhooksFor(stores: Stores): WebhookDelivery {
  let delivery = deliveries.get(stores);
  if (!delivery) deliveries.set(stores, (delivery = new WebhookDelivery(stores)));
  return delivery;
}
