// The generated route table is MLflow's: same paths, same methods, for every RPC of the
// served services, as handlers.get_endpoints() registers them in the pinned mlflow.
import { expect, test } from "bun:test";
import { RPC_ROUTES } from "../../src/generated/routes";

const root = new URL("../..", import.meta.url).pathname;

const PY = `
import json
from mlflow.server import handlers
from mlflow.protos.service_pb2 import MlflowService
from mlflow.protos.model_registry_pb2 import ModelRegistryService
from mlflow.protos.mlflow_artifacts_pb2 import MlflowArtifactsService
from mlflow.protos.webhooks_pb2 import WebhookService
out = []
for svc in (MlflowService, ModelRegistryService, MlflowArtifactsService, WebhookService):
    for path, _handler, methods in handlers.get_service_endpoints(svc, lambda _: None):
        for m in methods:
            out.append(f"{m} {path}")
print(json.dumps(sorted(out)))
`;

/** Our Elysia paths back in Flask spelling (`:x` → `<x>`, `*` → `<path:x>`). */
function flask(path: string, wildcard?: string): string {
  return path.replace(/:(\w+)/g, "<$1>").replace("*", `<path:${wildcard}>`);
}

test("every RPC route matches handlers.get_endpoints() of the pinned MLflow", () => {
  const proc = Bun.spawnSync([`${root}.venv/bin/python`, "-c", PY], { cwd: root, env: { ...process.env, MLFLOW_LOGGING_LEVEL: "ERROR" } });
  expect(proc.exitCode).toBe(0);
  const expected: string[] = JSON.parse(proc.stdout.toString().trim().split("\n").pop()!);
  const ours = RPC_ROUTES.flatMap((r) => r.paths.map((p) => `${r.method} ${flask(p, r.wildcard)}`)).sort();
  expect(ours).toEqual(expected);
  expect(ours.length).toBeGreaterThan(300);
}, 60_000); // importing mlflow takes seconds on a cold or busy machine

test("the quirky searchDatasets path is reproduced as MLflow generates it", () => {
  const r = RPC_ROUTES.find((x) => x.rpc === "searchDatasets")!;
  expect(r.paths).toContain("/api/2.0mlflow/experiments/search-datasets");
});
