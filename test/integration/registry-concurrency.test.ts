// Version numbering under concurrent creates, on both dialects: many clients creating versions
// of one model at once, through two mlflow-bun servers on the same database (two connection
// pools; for SQLite two connections to one file), all succeed with distinct, gap-free numbers.
// MLflow retries on IntegrityError; mlflow-bun takes the next number while holding the model's
// row (PostgreSQL: UPDATE's row lock; SQLite: BEGIN IMMEDIATE), so there is nothing to retry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEFAULTS, resolveArtifactRoot } from "../../src/config";
import { startServer } from "../../src/main";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";

const N = 60;

async function post(url: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/2.0/mlflow/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

for (const dialect of DIALECTS) {
  describe(`model version numbering under concurrency (${dialect})`, () => {
    let s: TestServer;
    let second: { url: string; stop(): Promise<void> };

    beforeAll(async () => {
      s = await startTestServer(dialect);
      second = await startServer(
        { ...DEFAULTS, host: "127.0.0.1", port: 0, backendStoreUri: s.backendStoreUri, defaultArtifactRoot: resolveArtifactRoot(undefined, true), poolSize: 4 },
        { signals: false, quiet: true },
      );
    });
    afterAll(async () => {
      await second.stop();
      await s.stop();
    });

    test(`${N} concurrent creates through two servers: all succeed, numbers 1..${N}`, async () => {
      expect((await post(s.url, "registered-models/create", { name: "conc" })).status).toBe(200);
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) => post(i % 2 ? second.url : s.url, "model-versions/create", { name: "conc", source: `s3://b/${i}` })),
      );
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      const versions = results.map((r) => Number(r.body.model_version.version)).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      // the stored rows agree, and every version's tag-less entity is readable
      const listed = await fetch(`${s.url}/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent("name = 'conc'")}&max_results=1000`).then((r) => r.json() as Promise<any>);
      expect(listed.model_versions.map((v: any) => Number(v.version)).sort((a: number, b: number) => a - b)).toEqual(versions);
    });

    test("concurrent creates across models, with deletes in between, never reuse a number", async () => {
      for (const name of ["c1", "c2"]) expect((await post(s.url, "registered-models/create", { name })).status).toBe(200);
      const first = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? second.url : s.url, "model-versions/create", { name: `c${(i % 2) + 1}`, source: "s3://b/x" })));
      expect(first.every((r) => r.status === 200)).toBe(true);
      const del = await fetch(`${s.url}/api/2.0/mlflow/model-versions/delete`, { method: "DELETE", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "c1", version: "10" }) });
      expect(del.status).toBe(200);
      const next = await Promise.all(Array.from({ length: 10 }, () => post(second.url, "model-versions/create", { name: "c1", source: "s3://b/y" })));
      expect(next.map((r) => Number(r.body.model_version.version)).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 11));
    });
  });
}
