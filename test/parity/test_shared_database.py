"""The real MLflow server and mlflow-bun on ONE database at the same time (the same PostgreSQL
database; the same SQLite file): what either writes, the other reads back identically.

Each test writes runs, params, metrics, tags, inputs through one server (or both, interleaved)
and then asks both servers the same questions (runs/get, runs/search, metrics/get-history, ...):
the two answers must be the same JSON — the same rows seen through two implementations, so no
id or time normalisation at all. The only allowances: lists that are maps in MLflow's model (tags,
params, latest metrics, dataset inputs) are compared sorted, since neither server orders them, and
a database error's message is compared without SQLAlchemy's wrapping (as in differential.py).

A mismatch prints both requests and both responses.
"""

from __future__ import annotations

import json
import math
import uuid

import pytest
import requests

from differential import Exchange, report_mismatch, strip_database_wrapping

API = "/api/2.0/mlflow/"
AJAX = "/ajax-api/2.0/mlflow/"
T0 = 1_700_000_000_000

_UNORDERED = {
    "tags": lambda i: str(i.get("key")),
    "params": lambda i: str(i.get("key")),
    "metrics": lambda i: str(i.get("key")),
    "dataset_inputs": lambda i: (str((i.get("dataset") or {}).get("name")), str((i.get("dataset") or {}).get("digest"))),
}


def comparable(node, key=None):
    if isinstance(node, dict):
        return {k: comparable(v, k) for k, v in node.items()}
    if isinstance(node, list):
        items = [comparable(v, key) for v in node]
        if key in _UNORDERED and all(isinstance(i, dict) for i in items):
            items.sort(key=_UNORDERED[key])
        return items
    if isinstance(node, float) and math.isnan(node):
        return "<float NaN>"
    if isinstance(node, str):
        # A database error's message is the database's; SQLAlchemy's echo of the failed statement
        # carries the time the statement was tried (see differential.py).
        return strip_database_wrapping(node)
    return node


class Side:
    def __init__(self, name: str, server):
        self.name = name
        self.server = server
        self.session = requests.Session()

    def call(self, method: str, path: str, body=None, params=None) -> Exchange:
        url = self.server.url + (path if path.startswith("/") else API + path)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        req = requests.Request(method, url, params=params, data=data, headers=headers).prepare()
        return Exchange(req, self.session.send(req, timeout=60))

    def ok(self, method: str, path: str, body=None, params=None) -> dict:
        ex = self.call(method, path, body, params)
        assert ex.response.status_code == 200, (
            f"{self.name}: {ex.describe_request()} answered {ex.response.status_code}: {ex.response.text[:2000]}"
        )
        return ex.body

    def post(self, path, body):
        return self.ok("POST", path, body)

    def get(self, path, params):
        return self.ok("GET", path, params=params)


@pytest.fixture(scope="module")
def sides(shared_pair):
    return Side("python", shared_pair.python), Side("mlflow-bun", shared_pair.bun)


def same(request, shared_pair, sides, method: str, path: str, body=None, params=None, what: str = "") -> dict:
    """Sends the same request to both servers; their answers must be the same."""
    py, bun = sides
    a = py.call(method, path, body, params)
    b = bun.call(method, path, body, params)
    expected = {"status": a.response.status_code, "content_type": a.mime, "body": comparable(a.body)}
    actual = {"status": b.response.status_code, "content_type": b.mime, "body": comparable(b.body)}
    if expected != actual:
        report_mismatch(
            request, "shared-db", shared_pair.dialect, f"{request.node.name}: {what or path}", a, b, expected, actual,
            sides=("via python", "via mlflow-bun"),
        )
    return a.body


def experiment(side: Side, prefix: str) -> str:
    return side.post("experiments/create", {"name": f"{prefix}-{uuid.uuid4().hex[:8]}"})["experiment_id"]


def new_run(side: Side, exp: str, name: str, start: int, **extra) -> str:
    return side.post("runs/create", {"experiment_id": exp, "run_name": name, "start_time": start, **extra})["run"]["info"]["run_id"]


def metric(key, value, ts, step=0):
    return {"key": key, "value": value, "timestamp": ts, "step": step}


def write_everything(side: Side, exp: str, name: str, start: int) -> str:
    run_id = new_run(side, exp, name, start, user_id="shared", tags=[{"key": "origin", "value": side.name}])
    side.post("runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.01"})
    side.post("runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": T0 + 1, "step": 1})
    side.post("runs/log-metric", {"run_id": run_id, "key": "loss", "value": "NaN", "timestamp": T0 + 2, "step": 2})
    side.post("runs/set-tag", {"run_id": run_id, "key": "note", "value": "ünï 名前 🚀"})
    side.post(
        "runs/log-batch",
        {
            "run_id": run_id,
            "metrics": [metric("acc", i / 10, T0 + i, i) for i in range(10)] + [metric("inf", "Infinity", T0, 0)],
            "params": [{"key": "layers", "value": "3"}, {"key": "long", "value": "x" * 6001}],
            "tags": [{"key": "batch", "value": "yes"}, {"key": "long", "value": "t" * 8001}],
        },
    )
    side.post(
        "runs/log-inputs",
        {"run_id": run_id, "datasets": [{"dataset": {"name": "ds", "digest": "d1", "source_type": "local", "source": "{}", "schema": "{}", "profile": "{}"}, "tags": [{"key": "mlflow.data.context", "value": "training"}]}]},
    )
    side.post("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": start + 1000})
    return run_id


def read_everything(request, shared_pair, sides, exp: str, run_id: str) -> None:
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": run_id})
    same(request, shared_pair, sides, "POST", "runs/search", {"experiment_ids": [exp]})
    same(request, shared_pair, sides, "GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "acc"})
    same(request, shared_pair, sides, "GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "loss"})
    same(request, shared_pair, sides, "GET", "metrics/get-history-bulk-interval", params=[("run_ids", run_id), ("metric_key", "acc"), ("max_results", "4")])
    same(request, shared_pair, sides, "GET", AJAX + "metrics/get-history-bulk", params=[("run_id", run_id), ("metric_key", "acc")])
    same(request, shared_pair, sides, "GET", "experiments/get", params={"experiment_id": exp})


@pytest.mark.parametrize("writer", ["python", "mlflow-bun"])
def test_one_writes_both_read(request, shared_pair, sides, writer):
    side = sides[0] if writer == "python" else sides[1]
    exp = experiment(side, f"written-by-{writer}")
    run_id = write_everything(side, exp, f"run-by-{writer}", T0 + 100)
    read_everything(request, shared_pair, sides, exp, run_id)


def test_interleaved_writes_on_one_run(request, shared_pair, sides):
    py, bun = sides
    exp = experiment(py, "interleaved")
    run_id = new_run(bun, exp, "interleaved", T0 + 200)
    py.post("runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"})
    bun.post("runs/log-parameter", {"run_id": run_id, "key": "q", "value": "2"})
    # Latest metric: Python logs step 5, mlflow-bun an older step (ignored), then a newer one.
    py.post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": T0 + 5, "step": 5})
    bun.post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 2, "timestamp": T0 + 9, "step": 4})
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": run_id}, what="latest metric after an older step")
    bun.post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 3, "timestamp": T0 + 6, "step": 5})
    py.post("runs/log-batch", {"run_id": run_id, "metrics": [metric("m", 0.5, T0 + 6, 5)], "tags": [{"key": "t", "value": "py"}]})
    bun.post("runs/set-tag", {"run_id": run_id, "key": "t", "value": "bun"})
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": run_id}, what="after interleaved writes")
    same(request, shared_pair, sides, "GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    # A param Python logged cannot be changed through mlflow-bun, nor the other way round: both
    # servers answer the same error for the same attempt.
    same(request, shared_pair, sides, "POST", "runs/log-parameter", {"run_id": run_id, "key": "p", "value": "changed"}, what="change a param Python logged")
    same(request, shared_pair, sides, "POST", "runs/log-batch", {"run_id": run_id, "params": [{"key": "q", "value": "changed"}]}, what="change a param mlflow-bun logged")
    same(request, shared_pair, sides, "POST", "runs/log-parameter", {"run_id": run_id, "key": "q", "value": "2"}, what="same value again")
    # A duplicate metric row written by the other server is ignored by both.
    same(request, shared_pair, sides, "POST", "runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": T0 + 5, "step": 5}, what="duplicate metric row")
    same(request, shared_pair, sides, "GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "m"}, what="history after duplicates")
    # Renames through either are seen by both.
    py.post("runs/set-tag", {"run_id": run_id, "key": "mlflow.runName", "value": "renamed-by-python"})
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": run_id}, what="renamed by Python")
    bun.post("runs/update", {"run_id": run_id, "run_name": "renamed-by-bun", "status": "KILLED", "end_time": T0 + 300})
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": run_id}, what="renamed by mlflow-bun")
    same(request, shared_pair, sides, "POST", "runs/delete-tag", {"run_id": run_id, "key": "never-set"}, what="delete a missing tag")


def test_delete_and_restore_across(request, shared_pair, sides):
    py, bun = sides
    exp = experiment(bun, "lifecycle")
    keep = new_run(py, exp, "keep", T0 + 1)
    gone = new_run(bun, exp, "gone", T0 + 2)
    bun.post("runs/delete", {"run_id": gone})
    for view in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        same(request, shared_pair, sides, "POST", "runs/search", {"experiment_ids": [exp], "run_view_type": view}, what=f"search {view} after a delete by mlflow-bun")
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": gone}, what="deleted run")
    same(request, shared_pair, sides, "POST", "runs/log-parameter", {"run_id": gone, "key": "p", "value": "1"}, what="write to a deleted run")
    py.post("runs/restore", {"run_id": gone})
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": gone}, what="restored by Python")
    py.post("experiments/delete", {"experiment_id": exp})
    same(request, shared_pair, sides, "POST", "runs/search", {"experiment_ids": [exp], "run_view_type": "ALL"}, what="runs of an experiment Python deleted")
    same(request, shared_pair, sides, "POST", "runs/create", {"experiment_id": exp, "run_name": "x"}, what="create a run in an experiment Python deleted")
    bun.post("experiments/restore", {"experiment_id": exp})
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": keep}, what="run of an experiment mlflow-bun restored")


def test_inputs_and_models_across(request, shared_pair, sides):
    py, bun = sides
    exp = experiment(py, "inputs")
    a = new_run(py, exp, "a", T0 + 1)
    b = new_run(bun, exp, "b", T0 + 2)
    ds = {"name": "shared-ds", "digest": "dd", "source_type": "local", "source": "{}"}
    py.post("runs/log-inputs", {"run_id": a, "datasets": [{"dataset": ds, "tags": [{"key": "mlflow.data.context", "value": "training"}]}]})
    # The same dataset, logged to another run through the other server: one dataset row.
    bun.post("runs/log-inputs", {"run_id": b, "datasets": [{"dataset": ds, "tags": [{"key": "mlflow.data.context", "value": "eval"}]}]})
    bun.post("runs/log-inputs", {"run_id": a, "datasets": [{"dataset": ds}]})
    py.post("runs/log-inputs", {"run_id": b, "models": [{"model_id": "m-shared"}]})
    for run_id in (a, b):
        same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": run_id}, what="inputs")
    for f in ("datasets.name = 'shared-ds'", "datasets.context = 'eval'", "datasets.digest IN ('dd', 'x')"):
        same(request, shared_pair, sides, "POST", "runs/search", {"experiment_ids": [exp], "filter": f}, what=f"search {f}")
    model = {
        "artifact_path": "model", "flavors": {"python_function": {}}, "utc_time_created": "2023-11-14 22:13:20.000000",
        "run_id": a, "model_uuid": "u1",
    }
    bun.post("runs/log-model", {"run_id": a, "model_json": json.dumps(model)})
    py.post("runs/log-model", {"run_id": a, "model_json": json.dumps({**model, "artifact_path": "model2", "model_uuid": "u2"})})
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": a}, what="log-model history written by both")


def test_search_across(request, shared_pair, sides):
    py, bun = sides
    exp = experiment(py, "search")
    writers = [py, bun, py, bun, py, bun]
    for i, side in enumerate(writers):
        run_id = new_run(side, exp, f"s{i}", T0 + 10 * i, user_id=["ann", "bob"][i % 2])
        side.post(
            "runs/log-batch",
            {
                "run_id": run_id,
                "metrics": [metric("m", [3, 1, "NaN", 2, -1, 5][i], T0, 0)] if i != 4 else [],
                "params": [{"key": "p", "value": str(i * 3)}],
                "tags": [{"key": "t", "value": "ab"[i % 2]}],
            },
        )
        if i % 3 == 0:
            side.post("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": T0 + 10 * i + 5})
    cases = [
        {},
        {"filter": "metrics.m > 1"},
        {"filter": "metrics.m != 2"},
        {"filter": "params.p LIKE '1%'"},
        {"filter": "tags.t = 'a' AND attributes.status = 'FINISHED'"},
        {"filter": "attributes.user_id = 'bob'", "order_by": ["metrics.m DESC"]},
        {"order_by": ["metrics.m ASC"]},
        {"order_by": ["params.p DESC"]},
        {"order_by": ["tags.t ASC", "start_time ASC"]},
        {"order_by": ["end_time DESC"]},
        {"order_by": ["attributes.run_name ASC"]},
    ]
    for body in cases:
        same(request, shared_pair, sides, "POST", "runs/search", {"experiment_ids": [exp], **body}, what=f"search {body}")
    # Paging: the page tokens of one server work on the other.
    first = same(request, shared_pair, sides, "POST", "runs/search", {"experiment_ids": [exp], "max_results": 4, "order_by": ["start_time ASC"]}, what="page 1")
    token = first.get("next_page_token")
    assert token
    same(request, shared_pair, sides, "POST", "runs/search", {"experiment_ids": [exp], "max_results": 4, "order_by": ["start_time ASC"], "page_token": token}, what="page 2")


def test_run_name_conflicts_and_errors_alike(request, shared_pair, sides):
    py, bun = sides
    exp = experiment(bun, "errors")
    run_id = new_run(py, exp, "r", T0)
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": "0" * 32}, what="missing run")
    same(request, shared_pair, sides, "POST", "runs/delete-tag", {"run_id": run_id, "key": "nope"}, what="missing tag")
    same(request, shared_pair, sides, "POST", "runs/log-batch", {"run_id": run_id, "params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}, what="duplicate keys")
    same(request, shared_pair, sides, "POST", "runs/search", {"experiment_ids": [exp], "filter": "metrics.m = 'x'"}, what="bad filter")
    same(request, shared_pair, sides, "GET", "runs/get", params={"run_id": run_id}, what="the run after the failed writes")
    taken = f"taken-{uuid.uuid4().hex[:8]}"
    py.post("experiments/create", {"name": taken})
    same(request, shared_pair, sides, "POST", "experiments/create", {"name": taken}, what="an experiment name Python took")
