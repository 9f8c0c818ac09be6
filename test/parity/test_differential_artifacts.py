"""Differential test of the artifact routes: the mlflow-artifacts API (upload, download, list,
delete, multipart) over each server's own local ./mlartifacts destination, the UI's /get-artifact
and /model-versions/get-artifact, and the path-traversal payloads of MLflow's CVEs — sent step
by step, as raw HTTP, to the real MLflow server and to mlflow-bun, compared response by response
(status, media type, body: downloads are compared as text).

Uses differential.py's "runs" mode (its docstring says what is normalised). A step's path may
refer to a run (``{run:label}``): resolved per server, like a query string.

Run: ``.venv/bin/python -m pytest test/parity/test_differential_artifacts.py -q``;
``MLFLOW_BUN_PARITY_TARGET=python`` runs it Python against Python.
"""

from __future__ import annotations

import dataclasses

import pytest

from differential import NOBODY, ServerState, Step, Suite

ART = "/api/2.0/mlflow-artifacts/artifacts"
AJAX_ART = "/ajax-api/2.0/mlflow-artifacts/artifacts"
MPU = "/api/2.0/mlflow-artifacts/mpu"
D = "diff-artifacts"  # every path of this module lives under it (the pair is shared)


def put(name, path, data, **kw) -> Step:
    return Step(name, "PUT", f"{ART}/{path}", data=data, **kw)


def get(name, path, **kw) -> Step:
    return Step(name, "GET", path if path.startswith("/") else f"{ART}/{path}", **kw)


def listing(name, path=None, **kw) -> Step:
    return Step(name, "GET", ART, params=None if path is None else {"path": path}, **kw)


def mpu(name, op, path, body=NOBODY) -> Step:
    return Step(name, "POST", f"{MPU}/{op}/{path}", json=body)


# The CVE payloads, as they appear in a URL (requests sends them as written).
TRAVERSALS = {
    "dotdot-encoded": "..%2F..%2F..%2Fetc%2Fpasswd",
    "dotdot-double": "%252E%252E%252F%252E%252E%252Fetc%252Fpasswd",
    "dotdot-triple": "%25252e%25252e%25252fetc",
    "absolute-encoded": "%2Fetc%2Fpasswd",
    "file-uri": "file%3A%2F%2F%2Fetc%2Fpasswd",
    "windows-drive": "C%3A%5CWindows%5Cwin.ini",
    "windows-drive-slash": "C:/Windows/win.ini",
    "unc": "%5C%5Cserver%5Cshare%5Cx",
    "fragment": "%23%2F..%2F..%2Fetc",
    "fragment-http": "http%3A%2F%2F%2F%23%2F..%2F..%2Fetc%2F",
    "query-http": "http%3A%2F%2F%2F%3F%2F..%2F..%2Fetc%2F",
    "backslash-dotdot": "..%5Cetc%5Cpasswd",
    "too-many-encodings": "%2525252525252525252525252e",
}

STEPS = [
    Step("setup/run", "POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": "0", "start_time": 1700000000000}, capture={"run:r": "run.info.run_id"}),
    put("upload/text", f"{D}/a.txt", "hello\n"),
    put("upload/nested-json", f"{D}/sub/b.json", '{"k": 1}'),
    put("upload/png", f"{D}/img.png", "PNG"),
    put("upload/unknown-type", f"{D}/model.pkl", "pickle"),
    put("upload/html", f"{D}/page.html", "<b>x</b>"),
    put("upload/spaces", f"{D}/with%20space.txt", "s"),
    put("upload/non-ascii", f"{D}/na%C3%AFve.txt", "n"),
    Step("upload/ajax", "PUT", f"{AJAX_ART}/{D}/ajax.txt", data="ajax"),
    put("upload/trailing-slash", f"{D}/dir/", "x"),
    put("upload/reserved-name", f"{D}/.artifact.uploading.x", "x"),
    put("upload/skills", "skills/x/y.txt", "x"),
    put("upload/empty", f"{D}/empty", ""),
    get("download/text", f"{D}/a.txt"),
    get("download/json", f"{D}/sub/b.json"),
    get("download/unknown-type", f"{D}/model.pkl"),
    get("download/html", f"{D}/page.html"),
    get("download/empty", f"{D}/empty"),
    get("download/ajax", f"{AJAX_ART}/{D}/ajax.txt"),
    get("download/missing", f"{D}/nope.txt"),
    get("download/directory", f"{D}/sub"),
    listing("list/dir", D),
    listing("list/sub", f"{D}/sub"),
    listing("list/file", f"{D}/a.txt"),
    listing("list/missing", f"{D}/nope"),
    Step("list/ajax", "GET", AJAX_ART, params={"path": f"{D}/sub"}),
    Step("delete/file", "DELETE", f"{ART}/{D}/empty"),
    listing("delete/list-after-file", D),
    Step("delete/dir", "DELETE", f"{ART}/{D}/sub"),
    Step("delete/missing", "DELETE", f"{ART}/{D}/sub"),
    Step("delete/skills", "DELETE", f"{ART}/skills/x"),
    listing("delete/list-after-dir", D),
    mpu("mpu/create-local", "create", D, {"path": "/home/me/big.bin", "num_parts": 2}),
    mpu("mpu/complete-local", "complete", D, {"path": "big.bin", "upload_id": "u", "parts": [{"part_number": 1, "etag": "e"}]}),
    mpu("mpu/abort-local", "abort", D, {"path": "big.bin", "upload_id": "u"}),
    mpu("mpu/missing-path", "create", D, {"num_parts": 2}),
    mpu("mpu/bad-file-name", "create", D, {"path": "C%3A..", "num_parts": 1}),
    mpu("mpu/skills", "create", "skills/x", {"path": "f", "num_parts": 1}),
    put("get-artifact/upload", "0/{run:r}/artifacts/model/MLmodel", "flavors: {}\n"),
    get("get-artifact/file", "/get-artifact", params={"run_id": "{run:r}", "path": "model/MLmodel"}),
    get("get-artifact/missing", "/get-artifact", params={"run_id": "{run:r}", "path": "nope"}),
    get("get-artifact/directory", "/get-artifact", params={"run_id": "{run:r}", "path": "model"}),
    get("get-artifact/no-run", "/get-artifact", params={"run_id": "nope", "path": "x"}),
    get("get-artifact/traversal", "/get-artifact", params={"run_id": "{run:r}", "path": "../../etc/passwd"}),
    Step("model/create", "POST", "/api/2.0/mlflow/registered-models/create", json={"name": "diff-artifacts-model"}),
    Step(
        "model/version",
        "POST",
        "/api/2.0/mlflow/model-versions/create",
        json={"name": "diff-artifacts-model", "source": "mlflow-artifacts:/0/{run:r}/artifacts/model", "run_id": "{run:r}"},
    ),
    get("model/get-artifact", "/model-versions/get-artifact", params={"name": "diff-artifacts-model", "version": "1", "path": "MLmodel"}),
    get("model/get-artifact-missing", "/model-versions/get-artifact", params={"name": "diff-artifacts-model", "version": "1", "path": "x"}),
    get("model/get-artifact-traversal", "/model-versions/get-artifact", params={"name": "diff-artifacts-model", "version": "1", "path": "%2e%2e%2fx"}),
]
for label, payload in TRAVERSALS.items():
    # When a route raises before reading the request, uvicorn may reset the connection: such
    # requests (MLflow's 500s) go on connections of their own.
    close = {"Connection": "close"} if label == "too-many-encodings" else None
    STEPS += [get(f"traversal/{label}/download", payload, headers=close)]
    if label != "too-many-encodings":  # uvicorn resets the connection when the route raises before reading the body
        STEPS += [Step(f"traversal/{label}/upload", "PUT", f"{ART}/{payload}", data="x")]
    STEPS += [
        Step(f"traversal/{label}/list", "GET", ART, query=f"path={payload}", headers=close),
        Step(f"traversal/{label}/get-artifact", "GET", "/get-artifact", query=f"run_id={{run:r}}&path={payload}", headers=close),
    ]
    if not payload.startswith(("%2F", "/")):  # Flask's `<path:...>` needs a first character that is not "/"
        STEPS += [
            Step(f"traversal/{label}/delete", "DELETE", f"{ART}/{payload}", headers=close),
            mpu(f"traversal/{label}/mpu-create", "create", payload, {"path": "f.bin", "num_parts": 1}),
        ]


class ArtifactState(ServerState):
    """Resolves run references in a step's path too (artifact paths contain run ids)."""

    def send(self, step: Step):
        return super().send(dataclasses.replace(step, path=self.resolve(step.path)))


class ArtifactSuite(Suite):
    def new_states(self, pair) -> dict:
        return {"python": ArtifactState(pair.python, self.mode), "bun": ArtifactState(pair.bun, self.mode), "done": set()}


SUITE = ArtifactSuite(
    "artifacts",
    STEPS,
    mode="runs",
    known_differences={},
    replay_all_earlier=True,
)


@pytest.fixture(scope="module")
def states(server_pair):
    return SUITE.new_states(server_pair)


@pytest.mark.parametrize("step", SUITE.params())
def test_step(step: Step, states, server_pair, request):
    SUITE.check(step, states, server_pair, request)
