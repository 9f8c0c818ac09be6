import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";

for (const dialect of DIALECTS) {
  describe(`smoke (${dialect})`, () => {
    let s: TestServer;
    beforeAll(async () => (s = await startTestServer(dialect)));
    afterAll(() => s.stop());

    test("default experiment 0 exists, as MLflow creates it", async () => {
      const r = await s.call("GET", "/api/2.0/mlflow/experiments/get", { experiment_id: "0" });
      expect(r.status).toBe(200);
      expect(r.body.experiment).toMatchObject({ experiment_id: "0", name: "Default", artifact_location: "mlflow-artifacts:/0", lifecycle_stage: "active" });
    });

    test("/health and /version answer as MLflow's do", async () => {
      expect(await (await fetch(`${s.url}/health`)).text()).toBe("OK");
      expect(await (await fetch(`${s.url}/version`)).text()).toBe("3.18.0");
    });
  });
}
