// Webhook delivery after registry writes, both dialects: the webhooks are created by MLflow's own
// SqlAlchemyStore.create_webhook (Fernet-encrypted secrets with a fixed key) in the database the
// in-process server uses, and a local Bun.serve receiver records what arrives. Deliveries run
// after the answer; webhookDeliveriesSettled() waits for all of them, so nothing here is timed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { isPublicIp, parseIp } from "../../src/python/ipaddress";
import { postWebhook, SsrfProtectionError } from "../../src/services/webhook-http";
import { webhookDeliveriesSettled } from "../../src/services/webhooks";
import { openDb, type Db } from "../../src/store/db";
import { sql } from "../../src/store/sql";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";
import { registryClient } from "./registry-helpers";

const ROOT = join(import.meta.dir, "..", "..");
const KEY = "kXVDGqk8wqD8lAqmNnTSKPd1dcnUQIRLrt-4GfrGsEk=";
const OTHER_KEY = "3dq8pJb5YVqUbD2tKk0oQz5GdRYxSDSgk1bGSCd7nWs=";
const SECRET = "s3cret-ü";
const ENV: Record<string, string> = {
  MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY: KEY,
  MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS: "true",
  MLFLOW_WEBHOOK_ALLOWED_SCHEMES: "http",
  MLFLOW_WEBHOOK_CACHE_TTL: "0",
  MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES: "1",
};

/** MLflow's store creates the webhooks (and soft-deletes those marked so); prints their ids. */
const CREATE_WEBHOOKS = `
import json, sys
from mlflow.entities.webhook import WebhookEvent, WebhookStatus
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore
spec = json.loads(sys.argv[1])
store = SqlAlchemyStore(spec["uri"])
ids = {}
for w in spec["webhooks"]:
    hook = store.create_webhook(
        name=w["name"], url=w["url"], events=[WebhookEvent.from_str(e) for e in w["events"]],
        secret=w.get("secret"), status=WebhookStatus(w["status"]) if w.get("status") else None,
    )
    if w.get("deleted"):
        store.delete_webhook(hook.webhook_id)
    ids[w["name"]] = hook.webhook_id
print(json.dumps(ids))
`;

const MODEL_EVENTS = [
  "registered_model.created", "model_version.created", "model_version_tag.set", "model_version_tag.deleted",
  "model_version_alias.created", "model_version_alias.deleted",
];
const PROMPT_EVENTS = [
  "prompt.created", "prompt_version.created", "prompt_tag.set", "prompt_tag.deleted", "prompt_version_tag.set",
  "prompt_version_tag.deleted", "prompt_alias.created", "prompt_alias.deleted",
];

interface Delivery {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

const TIMESTAMP = /"timestamp": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?\+00:00)"/;
/** The body with its timestamp (checked for isoformat's shape) replaced by T. */
const stable = (body: string) => {
  expect(body).toMatch(TIMESTAMP);
  return body.replace(TIMESTAMP, '"timestamp": "T"');
};

function verify(d: Delivery, secret: string) {
  expect(d.headers["content-type"]).toBe("application/json");
  expect(d.headers["x-mlflow-delivery-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(d.headers["x-mlflow-timestamp"]).toMatch(/^\d{10}$/);
  const signed = `${d.headers["x-mlflow-delivery-id"]}.${d.headers["x-mlflow-timestamp"]}.${d.body}`;
  const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(signed, "utf8").digest("base64");
  expect(d.headers["x-mlflow-signature"]).toBe(`v1,${expected}`);
}

const envelope = (event: string, data: string) => {
  const [entity, action] = event.split(".");
  return `{"entity": "${entity}", "action": "${action}", "timestamp": "T", "data": ${data}}`;
};

for (const dialect of DIALECTS) {
  describe(`webhook delivery (${dialect})`, () => {
    let s: TestServer;
    let db: Db;
    let receiver: ReturnType<typeof Bun.serve>;
    const deliveries: Delivery[] = [];
    const saved: Record<string, string | undefined> = {};
    const c = registryClient(() => s);
    const { api, ok, createModel, createVersion } = c;
    const at = (path: string) => deliveries.filter((d) => d.path === path);
    const settle = async () => webhookDeliveriesSettled();
    const reset = async () => {
      await settle();
      deliveries.splice(0);
    };

    beforeAll(async () => {
      const flaky = new Set<string>();
      receiver = Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        async fetch(req) {
          const url = new URL(req.url);
          const headers: Record<string, string> = {};
          req.headers.forEach((v, k) => (headers[k] = v));
          deliveries.push({ path: url.pathname, method: req.method, headers, body: await req.text() });
          if (url.pathname === "/fail") return new Response("down", { status: 500 });
          if (url.pathname === "/moved") return new Response(null, { status: 302, headers: { location: "/after" } });
          if (url.pathname === "/flaky") {
            const id = headers["x-mlflow-delivery-id"]!;
            if (!flaky.has(id)) {
              flaky.add(id);
              return new Response("later", { status: 503, headers: { "retry-after": "1" } });
            }
          }
          return new Response("ok");
        },
      });
      for (const [k, v] of Object.entries(ENV)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
      s = await startTestServer(dialect);
      db = openDb(s.backendStoreUri, { poolSize: 2 });
      const base = `http://127.0.0.1:${receiver.port}`;
      const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
      const closedPort = closed.port;
      closed.stop(true);
      const spec = {
        uri: s.backendStoreUri.replace(/^postgresql:/, "postgresql+psycopg2:"),
        webhooks: [
          { name: "main", url: `${base}/main`, events: [...MODEL_EVENTS, ...PROMPT_EVENTS], secret: SECRET },
          { name: "nosecret", url: `${base}/nosecret`, events: ["registered_model.created"] },
          { name: "disabled", url: `${base}/disabled`, events: ["registered_model.created"], secret: "x", status: "DISABLED" },
          { name: "deleted", url: `${base}/deleted`, events: ["registered_model.created"], secret: "x", deleted: true },
          { name: "flaky", url: `${base}/flaky`, events: ["model_version_tag.set"], secret: SECRET },
          { name: "fail", url: `${base}/fail`, events: ["model_version_alias.deleted"] },
          { name: "refused", url: `http://127.0.0.1:${closedPort}/refused`, events: ["model_version_alias.deleted"] },
          { name: "moved", url: `${base}/moved`, events: ["prompt_alias.deleted"], secret: SECRET },
        ],
      };
      const proc = Bun.spawnSync([join(ROOT, ".venv/bin/python"), "-c", CREATE_WEBHOOKS, JSON.stringify(spec)], {
        env: { ...process.env, ...ENV, MLFLOW_TRACKING_URI: "" },
      });
      if (proc.exitCode !== 0) throw new Error(proc.stderr.toString());
    }, 60_000);

    afterAll(async () => {
      await settle();
      await db.close();
      await s.stop();
      receiver.stop(true);
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }, 30_000);

    test("model events: payloads as json.dumps prints them, signed; disabled and deleted webhooks not called", async () => {
      await reset();
      await createModel({ name: "wm", tags: [{ key: "k", value: "1" }, { key: "é", value: "ü\n" }, { key: "k", value: "2" }] });
      await createVersion({ name: "wm", source: "s3://b/wm", run_id: "run0", description: "d", tags: [{ key: "t", value: "v" }] });
      await createVersion({ name: "wm", source: "models:/wm/1" });
      await ok(api("POST", "model-versions/set-tag", { name: "wm", version: "1", key: "a", value: "b" }));
      await ok(api("DELETE", "model-versions/delete-tag", { name: "wm", version: "1", key: "a" }));
      await ok(api("POST", "registered-models/alias", { name: "wm", alias: "champ", version: "01" }));
      await ok(api("DELETE", "registered-models/alias", { name: "wm", alias: "champ" }));
      // a registered-model tag of a model delivers nothing (only prompts have tag events)
      await ok(api("POST", "registered-models/set-tag", { name: "wm", key: "x", value: "y" }));
      await settle();
      const main = at("/main");
      for (const d of main) verify(d, SECRET);
      expect(main.map((d) => stable(d.body)).sort()).toEqual(
        [
          envelope("registered_model.created", '{"name": "wm", "tags": {"k": "2", "\\u00e9": "\\u00fc\\n"}, "description": ""}'),
          envelope("model_version.created", '{"name": "wm", "version": "1", "source": "s3://b/wm", "run_id": "run0", "tags": {"t": "v"}, "description": "d"}'),
          envelope("model_version.created", '{"name": "wm", "version": "2", "source": "models:/wm/1", "run_id": "run0", "tags": {}, "description": null}'),
          envelope("model_version_tag.set", '{"name": "wm", "version": "1", "key": "a", "value": "b"}'),
          envelope("model_version_tag.deleted", '{"name": "wm", "version": "1", "key": "a"}'),
          envelope("model_version_alias.created", '{"name": "wm", "alias": "champ", "version": "01"}'),
          envelope("model_version_alias.deleted", '{"name": "wm", "alias": "champ"}'),
        ].sort(),
      );
      const [plain] = at("/nosecret");
      expect(at("/nosecret").length).toBe(1);
      expect(plain!.headers["x-mlflow-signature"]).toBeUndefined();
      expect(stable(plain!.body)).toBe(stable(at("/main").find((d) => d.body.includes('"registered_model"'))!.body));
      expect(at("/disabled")).toEqual([]);
      expect(at("/deleted")).toEqual([]);
    });

    test("prompt events: prompt entities, marker tags left out, the template taken from the tags", async () => {
      await reset();
      const promptTags = [{ key: "mlflow.prompt.is_prompt", value: "TRUE" }, { key: "_mlflow_prompt_type", value: "text" }, { key: "team", value: "a" }];
      await createModel({ name: "wp", description: "a prompt", tags: promptTags });
      await createVersion({
        name: "wp", source: "dummy-source",
        tags: [{ key: "mlflow.prompt.is_prompt", value: "true" }, { key: "mlflow.prompt.text", value: "Hi {{name}}" }, { key: "lang", value: "en" }],
      });
      await ok(api("POST", "registered-models/set-tag", { name: "wp", key: "owner", value: "me" }));
      await ok(api("DELETE", "registered-models/delete-tag", { name: "wp", key: "owner" }));
      await ok(api("POST", "model-versions/set-tag", { name: "wp", version: "1", key: "q", value: "" }));
      await ok(api("DELETE", "model-versions/delete-tag", { name: "wp", version: "1", key: "q" }));
      await ok(api("POST", "registered-models/alias", { name: "wp", alias: "prod", version: "1" }));
      await ok(api("DELETE", "registered-models/alias", { name: "wp", alias: "prod" }));
      await settle();
      const main = at("/main");
      for (const d of main) verify(d, SECRET);
      expect(main.map((d) => stable(d.body)).sort()).toEqual(
        [
          envelope("prompt.created", '{"name": "wp", "tags": {"team": "a"}, "description": "a prompt"}'),
          envelope("prompt_version.created", '{"name": "wp", "version": "1", "template": "Hi {{name}}", "tags": {"lang": "en"}, "description": null}'),
          envelope("prompt_tag.set", '{"name": "wp", "key": "owner", "value": "me"}'),
          envelope("prompt_tag.deleted", '{"name": "wp", "key": "owner"}'),
          envelope("prompt_version_tag.set", '{"name": "wp", "version": "1", "key": "q", "value": ""}'),
          envelope("prompt_version_tag.deleted", '{"name": "wp", "version": "1", "key": "q"}'),
          envelope("prompt_alias.created", '{"name": "wp", "alias": "prod", "version": "1"}'),
          envelope("prompt_alias.deleted", '{"name": "wp", "alias": "prod"}'),
        ].sort(),
      );
      // requests follows the 302 as a GET without a body, the MLflow headers kept
      const moved = at("/moved");
      expect(moved.map((d) => d.method)).toEqual(["POST"]);
      const after: unknown[][] = at("/after").map((d) => [d.method, d.body, d.headers["content-type"] ?? null, d.headers["x-mlflow-delivery-id"]]);
      expect(after).toEqual([["GET", "", null, moved[0]!.headers["x-mlflow-delivery-id"]!]]);
      expect(at("/nosecret")).toEqual([]);
    });

    test("a failed write delivers nothing", async () => {
      await createModel({ name: "wf" });
      await reset();
      expect((await api("POST", "registered-models/create", { name: "wf" })).status).toBe(400);
      expect((await api("POST", "model-versions/set-tag", { name: "wf", version: "7", key: "a", value: "b" })).status).toBe(404);
      await settle();
      expect(deliveries).toEqual([]);
    });

    test("503 with Retry-After is retried with the same request; a failing or unreachable receiver never fails the call", async () => {
      await createModel({ name: "wr" });
      await createVersion({ name: "wr", source: "s3://b/wr" });
      await ok(api("POST", "registered-models/alias", { name: "wr", alias: "a", version: "1" }));
      await reset();
      await ok(api("POST", "model-versions/set-tag", { name: "wr", version: "1", key: "k", value: "v" }));
      expect(await ok(api("DELETE", "registered-models/alias", { name: "wr", alias: "a" }))).toEqual({});
      await settle();
      const flaky = at("/flaky");
      expect(flaky.length).toBe(2);
      expect(flaky[1]).toEqual(flaky[0]!);
      verify(flaky[1]!, SECRET);
      // MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES=1: the first try and one retry
      expect(at("/fail").length).toBe(2);
      expect(at("/main").length).toBe(2);
    });

    test("URL checks: a private address or a scheme not allowed is refused", async () => {
      await createModel({ name: "wu" });
      await createVersion({ name: "wu", source: "s3://b/wu" });
      await reset();
      process.env.MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS = "false";
      try {
        await ok(api("POST", "model-versions/set-tag", { name: "wu", version: "1", key: "k", value: "v" }));
        await settle();
      } finally {
        process.env.MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS = "true";
      }
      process.env.MLFLOW_WEBHOOK_ALLOWED_SCHEMES = "https";
      try {
        await ok(api("DELETE", "model-versions/delete-tag", { name: "wu", version: "1", key: "k" }));
        await settle();
      } finally {
        process.env.MLFLOW_WEBHOOK_ALLOWED_SCHEMES = "http";
      }
      expect(deliveries).toEqual([]);
    });

    test("the connect-time peer check: a private peer is refused before anything is sent, never retried", async () => {
      await reset();
      const url = `http://127.0.0.1:${receiver.port}/direct`;
      const error = await postWebhook(url, Buffer.from("{}"), [], { timeoutMs: 5000, maxRetries: 3, allowPrivateIps: false }).catch((e) => e);
      expect(error).toBeInstanceOf(SsrfProtectionError);
      expect(error.message).toBe("Webhook connection blocked: 127.0.0.1 is not a public IP address. This may indicate a DNS rebinding attempt.");
      expect(deliveries).toEqual([]);
      expect((await postWebhook(url, Buffer.from("{}"), [], { timeoutMs: 5000, maxRetries: 3, allowPrivateIps: true })).status).toBe(200);
      expect(at("/direct").map((d) => d.body)).toEqual(["{}"]);
    });

    test("secrets that do not decrypt (key unset or another key) fail the event's listing: nobody is called", async () => {
      await reset();
      for (const key of [undefined, OTHER_KEY]) {
        if (key === undefined) delete process.env.MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY;
        else process.env.MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY = key;
        try {
          await createModel({ name: `wk-${key ? "other" : "unset"}` });
          await settle();
        } finally {
          process.env.MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY = KEY;
        }
      }
      expect(deliveries).toEqual([]);
      await createModel({ name: "wk-back" });
      await settle();
      expect(at("/main").length).toBe(1);
      expect(at("/nosecret").length).toBe(1);
    });

    test("the subscriptions of an event are cached for MLFLOW_WEBHOOK_CACHE_TTL", async () => {
      process.env.MLFLOW_WEBHOOK_CACHE_TTL = "3600";
      try {
        await createModel({ name: "wc-1" });
        await settle();
        await db.run(sql`UPDATE webhooks SET status = 'DISABLED' WHERE name = 'nosecret'`);
        await reset();
        await createModel({ name: "wc-2" });
        await settle();
        expect(at("/nosecret").length).toBe(1); // still the cached listing
      } finally {
        process.env.MLFLOW_WEBHOOK_CACHE_TTL = "0";
      }
    });
  });
}

describe("_is_public_ip", () => {
  test("agrees with MLflow's on the special ranges and IPv6 transition forms", () => {
    const addresses = [
      "8.8.8.8", "127.0.0.1", "10.1.2.3", "100.64.0.1", "100.128.0.1", "172.15.255.255", "172.16.0.1", "192.0.0.8", "192.0.0.9",
      "192.0.0.170", "192.0.0.172", "224.0.0.1", "255.255.255.255", "0.0.0.0", "169.254.169.254", "::1", "::", "::ffff:127.0.0.1",
      "::ffff:8.8.8.8", "2002:7f00:1::", "2002:808:808::1", "64:ff9b::a00:1", "64:ff9b::808:808", "2001:db8::1",
      "2001:4860:4860::8888", "fe80::1%eth0", "fc00::1", "2001:2::1", "2001:3::1", "2001:1ff::", "2001:200::", "100::1",
      "::127.0.0.1", "1.2.3", "01.2.3.4", "1:2:3:4:5:6:7:8", "1::2::3", "1:2:3:4:5:6:7:8:9", "::ffff:1.2.3.4.5",
    ];
    const script = `
import ipaddress, json, sys
from mlflow.utils.validation import _is_public_ip
out = []
for a in json.loads(sys.argv[1]):
    try:
        out.append(_is_public_ip(ipaddress.ip_address(a)))
    except ValueError:
        out.append(None)
print(json.dumps(out))
`;
    const proc = Bun.spawnSync([join(ROOT, ".venv/bin/python"), "-c", script, JSON.stringify(addresses)]);
    expect(proc.exitCode).toBe(0);
    const python = JSON.parse(proc.stdout.toString());
    const ours = addresses.map((a) => {
      const ip = parseIp(a);
      return ip ? isPublicIp(ip) : null;
    });
    expect(ours).toEqual(python);
  }, 60_000);
});
