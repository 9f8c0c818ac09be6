// The webhooks a registry event is delivered to: the model-registry SqlAlchemyStore's
// list_webhooks_by_event (webhooks joined to webhook_events, soft-deleted ones left out, newest
// first), all pages at once. Secrets come back as stored (Fernet tokens); decrypting them is the
// delivery's job (services/webhooks.ts), as it is EncryptedString's when the ORM loads a row.
// The status is not filtered here: MLflow loads disabled webhooks too and filters afterwards.
import type { Db } from "./db";
import { WORKSPACE } from "./registry";
import { sql } from "./sql";

export interface StoredWebhook {
  webhookId: string;
  name: string;
  url: string;
  status: string;
  /** The Fernet token, or null when the webhook has no secret. */
  secret: string | null;
  workspace: string;
}

export class WebhookStore {
  constructor(private readonly db: Db) {}

  async subscribedTo(entity: string, action: string): Promise<StoredWebhook[]> {
    const rows = await this.db.all(sql`
      SELECT w.webhook_id, w.name, w.url, w.status, w.secret, w.workspace
      FROM webhooks w JOIN webhook_events e ON e.webhook_id = w.webhook_id
      WHERE w.workspace = ${WORKSPACE} AND w.deleted_timestamp IS NULL AND e.entity = ${entity} AND e.action = ${action}
      ORDER BY w.creation_timestamp DESC`);
    return rows.map((r) => ({
      webhookId: r.webhook_id, name: r.name, url: r.url, status: r.status, secret: r.secret ?? null, workspace: r.workspace,
    }));
  }
}
