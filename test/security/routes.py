"""Every route mlflow-bun serves natively, and a request for each that targets a resource.

The native RPCs are read from the sources, so a route made native later joins the tests (and fails
them until it has a request here): src/services/native.ts lists the handlers, and
src/generated/routes.ts (RPC_ROUTES) their methods and paths. The non-RPC native routes
(extraRoutes() in native.ts) are listed here as that file mounts them.

A request is built from a `Resources` (see test_auth.py): its ids name resources owned by the admin;
`victim_*` give a resource the request may destroy (a fresh one when the request really runs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Route:
    name: str  # the RPC (or, for extra routes, a label)
    method: str
    path: str  # as mounted without the static prefix; `*` is filled by the request


@dataclass
class Req:
    method: str
    path: str
    params: dict | None = None
    json: dict | None = None
    data: bytes | None = None
    headers: dict = field(default_factory=dict)


def native_rpcs() -> dict[str, set[str]]:
    """service -> the RPC names native.ts gives handlers (MlflowService, ModelRegistryService)."""
    text = (ROOT / "src" / "services" / "native.ts").read_text()
    mlflow = re.search(r"MlflowService: \{(.*?)\n    \},", text, re.S)
    registry = re.search(r'function modelRegistry\(.*?return \{(.*?)\n  \};', text, re.S)
    assert mlflow and registry, "src/services/native.ts changed shape: update test/security/routes.py"
    names = lambda block: set(re.findall(r"^\s+(\w+): \w+\.\w+,", block, re.M))  # noqa: E731
    return {"MlflowService": names(mlflow.group(1)), "ModelRegistryService": names(registry.group(1))}


def rpc_routes() -> list[tuple[str, str, str, list[str]]]:
    """(service, rpc, method, paths) of every entry of RPC_ROUTES."""
    text = (ROOT / "src" / "generated" / "routes.ts").read_text()
    out = []
    for m in re.finditer(r'\{ service: "(\w+)", rpc: "(\w+)",.*?method: "(\w+)", paths: \[([^\]]*)\]', text):
        out.append((m.group(1), m.group(2), m.group(3), json.loads(f"[{m.group(4)}]")))
    assert out, "src/generated/routes.ts changed shape: update test/security/routes.py"
    return out


# The mlflow-artifacts RPCs native.ts serves as extra routes (their bodies stream); the other RPC
# of MlflowArtifactsService (getPresignedDownloadUrl) has no native route.
NATIVE_ARTIFACT_RPCS = {
    "downloadArtifact", "uploadArtifact", "listArtifacts", "deleteArtifact",
    "createMultipartUpload", "completeMultipartUpload", "abortMultipartUpload",
}


def native_routes() -> list[Route]:
    native = native_rpcs()
    routes: list[Route] = []
    for service, rpc, method, paths in rpc_routes():
        if rpc in native.get(service, ()) or (service == "MlflowArtifactsService" and rpc in NATIVE_ARTIFACT_RPCS):
            key = f"artifacts.{rpc}" if service == "MlflowArtifactsService" else rpc
            routes += [Route(key, method, p) for p in paths]
    # extraRoutes(): the UI's bulk metric history (ajax only) and its downloads (no API prefix)
    routes += [
        Route("getMetricHistoryBulk", "GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk"),
        Route("getArtifact", "GET", "/get-artifact"),
        Route("getModelVersionArtifact", "GET", "/model-versions/get-artifact"),
    ]
    return routes


def _key(base: str):
    """A tag or param key: the same for refused requests, its own for each request that runs (the
    admin's writes run side by side; two inserting one key at once would race in MLflow too)."""
    return lambda r: r.unique(base) if r.fresh else base


def _ts() -> int:
    return 1_700_000_000_000


# name/method -> request. `r` is a Resources; `route` the route (for the path).
def _g(**params):
    return lambda r, route: Req(route.method, route.path, params={k: (v(r) if callable(v) else v) for k, v in params.items()})


def _b(**body):
    return lambda r, route: Req(route.method, route.path, json={k: (v(r) if callable(v) else v) for k, v in body.items()})


def _artifact(rel):
    """A path-style mlflow-artifacts route: `*` filled with the run's artifact directory + rel."""
    def build(r, route, body=None, data=None, headers=None):
        tail = rel(r) if callable(rel) else rel
        path = route.path.replace("*", f"{r.run_artifact_dir}/{tail}")
        return Req(route.method, path, json=body, data=data, headers=headers or {})
    return build


def _upload(r, route):
    return _artifact(lambda r: r.unique("upload") + ".txt")(r, route, data=b"uploaded by the security test",
                                                            headers={"Content-Type": "application/octet-stream"})


REQUESTS = {
    # experiments
    "createExperiment": _b(name=lambda r: r.unique("exp") if r.fresh else r.exp_name),
    "getExperiment": _g(experiment_id=lambda r: r.exp_id),
    "getExperimentByName": _g(experiment_name=lambda r: r.exp_name),
    "searchExperiments/POST": _b(max_results=100),
    "searchExperiments/GET": _g(max_results=100),
    "deleteExperiment": _b(experiment_id=lambda r: r.victim_experiment()),
    "restoreExperiment": _b(experiment_id=lambda r: r.victim_deleted_experiment()),
    "updateExperiment": _b(experiment_id=lambda r: r.victim_experiment(), new_name=lambda r: r.unique("renamed")),
    "setExperimentTag": _b(experiment_id=lambda r: r.exp_id, key=_key("k"), value="v"),
    "deleteExperimentTag": _b(experiment_id=lambda r: r.victim_experiment(), key="victim"),
    # runs
    "createRun": _b(experiment_id=lambda r: r.exp_id, start_time=_ts()),
    "updateRun": _b(run_id=lambda r: r.victim_run(), status="FINISHED", end_time=_ts() + 1),
    "deleteRun": _b(run_id=lambda r: r.victim_run()),
    "restoreRun": _b(run_id=lambda r: r.victim_deleted_run()),
    "getRun": _g(run_id=lambda r: r.run_id),
    "logMetric": _b(run_id=lambda r: r.run_id, key="m", value=2.0, timestamp=_ts(), step=1),
    "logParam": _b(run_id=lambda r: r.run_id, key=_key("p"), value="v"),
    "setTag": _b(run_id=lambda r: r.run_id, key=_key("k"), value="v"),
    "deleteTag": _b(run_id=lambda r: r.victim_run(), key="victim"),
    "logBatch": _b(run_id=lambda r: r.run_id, metrics=[{"key": "m", "value": 3.0, "timestamp": _ts(), "step": 2}],
                   params=lambda r: [{"key": _key("p")(r), "value": "v"}], tags=lambda r: [{"key": _key("k")(r), "value": "v"}]),
    "logModel": _b(run_id=lambda r: r.run_id, model_json=lambda r: json.dumps({
        "artifact_path": "model", "flavors": {"python_function": {}}, "run_id": r.run_id,
        "utc_time_created": "2024-01-01 00:00:00.000000"})),
    "logInputs": _b(run_id=lambda r: r.run_id, datasets=[{"dataset": {
        "name": "d", "digest": "abc", "source_type": "local", "source": "{}"}}]),
    "searchRuns": _b(experiment_ids=lambda r: [r.exp_id], max_results=100),
    "getMetricHistory": _g(run_id=lambda r: r.run_id, metric_key="m"),
    "getMetricHistoryBulkInterval": _g(run_ids=lambda r: r.run_id, metric_key="m"),
    "listArtifacts": _g(run_id=lambda r: r.run_id),
    # the model registry
    "createRegisteredModel": _b(name=lambda r: r.unique("model") if r.fresh else r.model_name),
    "renameRegisteredModel": _b(name=lambda r: r.victim_model(), new_name=lambda r: r.unique("renamed-model")),
    "updateRegisteredModel": _b(name=lambda r: r.model_name, description="d"),
    "deleteRegisteredModel": _b(name=lambda r: r.victim_model()),
    "getRegisteredModel": _g(name=lambda r: r.model_name),
    "searchRegisteredModels": _g(max_results=100),
    "getLatestVersions/POST": _b(name=lambda r: r.model_name),
    "getLatestVersions/GET": _g(name=lambda r: r.model_name),
    "createModelVersion": _b(name=lambda r: r.model_name, source=lambda r: r.run_artifact_uri, run_id=lambda r: r.run_id),
    "updateModelVersion": _b(name=lambda r: r.model_name, version="1", description="d"),
    "transitionModelVersionStage": _b(name=lambda r: r.model_name, version="1", stage="Staging",
                                      archive_existing_versions=False),
    "deleteModelVersion": _b(name=lambda r: r.victim_model(), version="1"),
    "getModelVersion": _g(name=lambda r: r.model_name, version="1"),
    "searchModelVersions": _g(filter=lambda r: f"name='{r.model_name}'"),
    "getModelVersionDownloadUri": _g(name=lambda r: r.model_name, version="1"),
    "setRegisteredModelTag": _b(name=lambda r: r.model_name, key=_key("k"), value="v"),
    "setModelVersionTag": _b(name=lambda r: r.model_name, version="1", key=_key("k"), value="v"),
    "deleteRegisteredModelTag": _b(name=lambda r: r.victim_model(), key="victim"),
    "deleteModelVersionTag": _b(name=lambda r: r.victim_model(), version="1", key="victim"),
    "setRegisteredModelAlias": _b(name=lambda r: r.model_name, alias=_key("second"), version="1"),
    "deleteRegisteredModelAlias": _b(name=lambda r: r.victim_model(), alias="champ"),
    "getModelVersionByAlias": _g(name=lambda r: r.model_name, alias="champ"),
    # the mlflow-artifacts API (paths under the run's artifact directory of the admin's experiment)
    "artifacts.downloadArtifact": lambda r, route: _artifact("file.txt")(r, route),
    "artifacts.uploadArtifact": _upload,
    "artifacts.listArtifacts": lambda r, route: Req(route.method, route.path, params={"path": r.run_artifact_dir}),
    "artifacts.deleteArtifact": lambda r, route: _artifact(lambda r: r.victim_artifact())(r, route),
    "artifacts.createMultipartUpload": lambda r, route: _artifact("mpu.bin")(r, route, body={"path": "mpu.bin", "num_parts": 1}),
    "artifacts.completeMultipartUpload": lambda r, route: _artifact("mpu.bin")(
        r, route, body={"path": "mpu.bin", "upload_id": "upload-1", "parts": [{"part_number": 1, "etag": "e"}]}),
    "artifacts.abortMultipartUpload": lambda r, route: _artifact("mpu.bin")(r, route, body={"path": "mpu.bin", "upload_id": "upload-1"}),
    # the UI's routes
    "getMetricHistoryBulk": _g(run_id=lambda r: r.run_id, metric_key="m"),
    "getArtifact": _g(run_id=lambda r: r.run_id, path="file.txt"),
    "getModelVersionArtifact": _g(name=lambda r: r.model_name, version="1", path="file.txt"),
}


def build_request(route: Route, r) -> Req:
    builder = REQUESTS.get(f"{route.name}/{route.method}") or REQUESTS.get(route.name)
    assert builder is not None, f"no request for native route {route.method} {route.path} ({route.name}): add one to REQUESTS"
    return builder(r, route)
