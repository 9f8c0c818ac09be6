"""The real MLflow client (`MlflowClient` and the fluent `mlflow.*` API) against mlflow-bun, on
SQLite and PostgreSQL: runs, params, metrics, tags, log_batch, log_input, search_runs (as a list
and as a pandas DataFrame), metric history, delete/restore, paging.

The expectations are MLflow's own behaviour: run with MLFLOW_BUN_PARITY_TARGET=python to check
them against the real MLflow server.
"""

from __future__ import annotations

import math
import os
import time
import uuid

import mlflow
import pandas as pd
import pytest
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

T0 = 1_700_000_000_000  # explicit times: 2023-11-14


@pytest.fixture(scope="module")
def client(bun_server) -> MlflowClient:
    return MlflowClient(tracking_uri=bun_server.url)


@pytest.fixture
def uniq() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def exp(client, uniq) -> str:
    """A fresh experiment for the test."""
    return client.create_experiment(f"{uniq}-runs")


@pytest.fixture
def fluent(bun_server):
    """The fluent API (mlflow.*), pointed at the server for the test's duration."""
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    try:
        with _use_tracking_uri(bun_server.url):
            yield mlflow
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        os.environ.pop("MLFLOW_RUN_ID", None)


def now_ms() -> int:
    return int(time.time() * 1000)


def history(client, run_id, key):
    return [(m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)]


# ------------------------------------------------------------------------------ fluent runs


def test_fluent_start_and_end_run(fluent, client, exp):
    before = now_ms()
    with fluent.start_run(experiment_id=exp, run_name="fluent-run", tags={"team": "ml"}) as run:
        run_id = run.info.run_id
        assert run.info.status == "RUNNING"
        assert run.info.run_name == "fluent-run"
        fluent.log_param("alpha", 0.5)
        fluent.log_params({"layers": 3, "act": "relu", "none": None})
        fluent.log_metric("loss", 0.9, step=0)
        fluent.log_metric("loss", 0.5, step=1, timestamp=T0 + 1)
        fluent.log_metrics({"acc": 0.75, "f1": 0.5}, step=2)
        fluent.set_tag("stage", "dev")
        fluent.set_tags({"owner": "me", "n": 5})
        assert fluent.active_run().info.run_id == run_id
    after = now_ms()
    assert fluent.active_run() is None

    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.info.experiment_id == exp
    assert got.info.lifecycle_stage == "active"
    assert before - 1000 <= got.info.start_time <= got.info.end_time <= after + 1000
    assert got.info.artifact_uri.endswith(f"/{exp}/{run_id}/artifacts")
    assert got.data.params == {"alpha": "0.5", "layers": "3", "act": "relu", "none": "None"}
    assert got.data.metrics == {"loss": 0.5, "acc": 0.75, "f1": 0.5}
    tags = got.data.tags
    assert tags["team"] == "ml" and tags["stage"] == "dev" and tags["owner"] == "me" and tags["n"] == "5"
    assert tags["mlflow.runName"] == "fluent-run"
    assert "mlflow.user" in tags and "mlflow.source.name" in tags and tags["mlflow.source.type"] == "LOCAL"
    # History is ordered by timestamp: the 2023 point first.
    assert [h[0] for h in history(client, run_id, "loss")] == [1, 0]
    assert history(client, run_id, "loss")[0] == (1, T0 + 1, 0.5)


def test_fluent_run_failing_block_is_failed(fluent, client, exp):
    with pytest.raises(ZeroDivisionError):
        with fluent.start_run(experiment_id=exp) as run:
            run_id = run.info.run_id
            1 / 0  # noqa: B018
    got = client.get_run(run_id)
    assert got.info.status == "FAILED"
    assert got.info.end_time is not None
    # No name given: the server made one up, and it is the mlflow.runName tag too.
    assert got.info.run_name and got.data.tags["mlflow.runName"] == got.info.run_name


def test_fluent_end_run_with_status(fluent, client, exp):
    run = fluent.start_run(experiment_id=exp, run_name="killed")
    fluent.end_run(status="KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_fluent_nested_runs(fluent, client, exp):
    with fluent.start_run(experiment_id=exp, run_name="parent") as parent:
        with fluent.start_run(experiment_id=exp, run_name="child", nested=True) as child:
            fluent.log_metric("x", 1)
    got = client.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    found = client.search_runs([exp], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert [r.info.run_id for r in found] == [child.info.run_id]


def test_fluent_resume_run(fluent, client, exp):
    run = client.create_run(exp, run_name="resumable")
    with fluent.start_run(run_id=run.info.run_id):
        fluent.log_param("resumed", "yes")
    got = client.get_run(run.info.run_id)
    assert got.data.params == {"resumed": "yes"}
    assert got.info.status == "FINISHED"


# ------------------------------------------------------------------------------ MlflowClient runs


def test_create_run(client, exp):
    run = client.create_run(exp, start_time=T0, tags={"a": "1", "b": ""}, run_name="created")
    info = run.info
    assert len(info.run_id) == 32 and info.to_proto().run_uuid == info.run_id
    assert info.experiment_id == exp
    assert info.run_name == "created"
    assert info.status == "RUNNING"
    assert info.start_time == T0
    assert info.end_time is None
    assert info.lifecycle_stage == "active"
    assert run.data.tags == {"a": "1", "b": "", "mlflow.runName": "created"}
    assert run.data.params == {} and run.data.metrics == {}
    got = client.get_run(info.run_id)
    assert got.info.to_proto() == info.to_proto()
    assert got.data.tags == run.data.tags


def test_create_run_generated_name(client, exp):
    run = client.create_run(exp)
    name = run.info.run_name
    assert name and name.count("-") == 2 and name.rsplit("-", 1)[1].isdigit()
    assert client.get_run(run.info.run_id).data.tags["mlflow.runName"] == name


def test_create_run_name_conflicts_with_tag(client, exp):
    with pytest.raises(MlflowException) as e:
        client.create_run(exp, run_name="one", tags={"mlflow.runName": "two"})
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_create_run_in_missing_or_deleted_experiment(client, uniq):
    with pytest.raises(MlflowException) as e:
        client.create_run("987654321")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    dead = client.create_experiment(f"{uniq}-dead")
    client.delete_experiment(dead)
    with pytest.raises(MlflowException) as e:
        client.create_run(dead)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_get_run_missing(client):
    with pytest.raises(MlflowException) as e:
        client.get_run("0" * 32)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_log_param_immutability(client, exp):
    run_id = client.create_run(exp).info.run_id
    client.log_param(run_id, "p", "1")
    client.log_param(run_id, "p", "1")  # the same value again is fine
    with pytest.raises(MlflowException) as e:
        client.log_param(run_id, "p", "2")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in e.value.message
    assert client.get_run(run_id).data.params == {"p": "1"}


def test_log_param_long_value_truncated(client, exp):
    run_id = client.create_run(exp).info.run_id
    client.log_param(run_id, "long", "x" * 7000)
    assert client.get_run(run_id).data.params["long"] == "x" * 6000


def test_log_param_invalid_key(client, exp):
    run_id = client.create_run(exp).info.run_id
    for key in ("bad key!", "../up", "k" * 251):
        with pytest.raises(MlflowException) as e:
            client.log_param(run_id, key, "v")
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_log_metric_steps_and_timestamps(client, exp):
    run_id = client.create_run(exp).info.run_id
    client.log_metric(run_id, "m", 1.0, timestamp=T0 + 3, step=0)
    client.log_metric(run_id, "m", 2.0, timestamp=T0 + 1, step=1)
    client.log_metric(run_id, "m", 3.0, timestamp=T0 + 2, step=1)
    client.log_metric(run_id, "m", 0.5, timestamp=T0 + 9, step=-1)
    client.log_metric(run_id, "m", 2.0, timestamp=T0 + 1, step=1)  # a duplicate row: ignored
    # History: by timestamp, then step, then value.
    assert history(client, run_id, "m") == [(1, T0 + 1, 2.0), (1, T0 + 2, 3.0), (0, T0 + 3, 1.0), (-1, T0 + 9, 0.5)]
    # Latest: the highest step, then the newest timestamp, then the highest value.
    assert client.get_run(run_id).data.metrics == {"m": 3.0}
    assert client.get_metric_history(run_id, "missing") == []


def test_log_metric_default_timestamp_and_step(client, exp):
    run_id = client.create_run(exp).info.run_id
    before = now_ms()
    client.log_metric(run_id, "m", 7)
    after = now_ms()
    [m] = client.get_metric_history(run_id, "m")
    assert m.step == 0 and m.value == 7.0 and before - 1000 <= m.timestamp <= after + 1000


def test_log_metric_nan_and_infinities(client, exp):
    run_id = client.create_run(exp).info.run_id
    client.log_metric(run_id, "nan", float("nan"), timestamp=T0)
    client.log_metric(run_id, "inf", float("inf"), timestamp=T0)
    client.log_metric(run_id, "neginf", float("-inf"), timestamp=T0)
    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == 1.7976931348623157e308  # stored as the largest double
    assert metrics["neginf"] == -1.7976931348623157e308
    [m] = client.get_metric_history(run_id, "nan")
    assert math.isnan(m.value)


def test_log_metric_invalid(client, exp):
    run_id = client.create_run(exp).info.run_id
    with pytest.raises(MlflowException) as e:
        client.log_metric(run_id, "bad key!", 1)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.log_metric(run_id, "m", 1, timestamp=-1)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.log_metric("0" * 32, "m", 1)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_set_and_delete_tag(client, exp):
    run_id = client.create_run(exp, run_name="tagged").info.run_id
    client.set_tag(run_id, "k", "v")
    client.set_tag(run_id, "k", "v2")
    client.set_tag(run_id, "long", "t" * 9000)
    client.set_tag(run_id, "ключ", "значение 🚀")
    tags = client.get_run(run_id).data.tags
    assert tags["k"] == "v2" and tags["long"] == "t" * 8000 and tags["ключ"] == "значение 🚀"
    client.delete_tag(run_id, "k")
    assert "k" not in client.get_run(run_id).data.tags
    with pytest.raises(MlflowException) as e:
        client.delete_tag(run_id, "k")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_set_run_name_tag_renames_run(client, exp):
    run_id = client.create_run(exp, run_name="before").info.run_id
    client.set_tag(run_id, "mlflow.runName", "after")
    got = client.get_run(run_id)
    assert got.info.run_name == "after" and got.data.tags["mlflow.runName"] == "after"
    assert [r.info.run_id for r in client.search_runs([exp], "attributes.run_name = 'after'")] == [run_id]


def test_update_run_and_set_terminated(client, exp):
    run_id = client.create_run(exp, run_name="upd", start_time=T0).info.run_id
    client.update_run(run_id, name="renamed")
    got = client.get_run(run_id)
    assert got.info.run_name == "renamed" and got.data.tags["mlflow.runName"] == "renamed"
    assert got.info.status == "RUNNING"
    client.set_terminated(run_id, "KILLED", end_time=T0 + 5)
    got = client.get_run(run_id)
    assert got.info.status == "KILLED" and got.info.end_time == T0 + 5
    client.update_run(run_id, status="FINISHED")
    assert client.get_run(run_id).info.status == "FINISHED"


def test_log_batch(client, exp):
    run_id = client.create_run(exp, run_name="batch").info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("m", 1.0, T0, 0), Metric("m", 2.0, T0 + 1, 1), Metric("n", -1, T0, 0)],
        params=[Param("p", "1"), Param("q", "x" * 6001)],
        tags=[RunTag("t", "1"), RunTag("mlflow.runName", "batch-renamed")],
    )
    got = client.get_run(run_id)
    assert got.data.metrics == {"m": 2.0, "n": -1.0}
    assert got.data.params == {"p": "1", "q": "x" * 6000}
    assert got.data.tags["t"] == "1"
    assert got.info.run_name == "batch-renamed"
    assert history(client, run_id, "m") == [(0, T0, 1.0), (1, T0 + 1, 2.0)]


def test_log_batch_is_all_or_nothing(client, exp):
    run_id = client.create_run(exp, run_name="atomic").info.run_id
    client.log_param(run_id, "p", "1")
    with pytest.raises(MlflowException) as e:
        client.log_batch(run_id, metrics=[Metric("new_m", 1, T0, 0)], params=[Param("new_p", "1"), Param("p", "2")], tags=[RunTag("new_t", "1")])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException):
        client.log_batch(run_id, metrics=[Metric("new_m2", 1, T0, 0), Metric("bad key!", 1, T0, 0)], params=[Param("new_p2", "1")])
    got = client.get_run(run_id)
    assert got.data.params == {"p": "1"}
    assert got.data.metrics == {}
    assert set(got.data.tags) == {"mlflow.runName"}


def test_log_batch_limits(client, exp):
    """The client splits big batches (at most 1000 metrics, 100 params and 100 tags a request)."""
    run_id = client.create_run(exp, run_name="big").info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("many", float(i), T0 + i, i) for i in range(2500)],
        params=[Param(f"p{i}", str(i)) for i in range(250)],
        tags=[RunTag(f"t{i}", str(i)) for i in range(150)],
    )
    got = client.get_run(run_id)
    assert len(got.data.params) == 250 and got.data.metrics == {"many": 2499.0}
    assert len([k for k in got.data.tags if k.startswith("t")]) == 150
    h = client.get_metric_history(run_id, "many")
    assert [m.step for m in h] == list(range(2500))


def test_log_batch_over_the_limits_by_raw_request(client, exp, bun_server):
    """Without the client's splitting, the server refuses more than 1000 metrics at once."""
    import requests

    run_id = client.create_run(exp).info.run_id
    body = {"run_id": run_id, "metrics": [{"key": "m", "value": i, "timestamp": T0, "step": i} for i in range(1001)]}
    r = requests.post(f"{bun_server.url}/api/2.0/mlflow/runs/log-batch", json=body, timeout=60)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "at most 1000 metrics" in r.json()["message"]


def test_metric_history_pages(client, exp):
    run_id = client.create_run(exp).info.run_id
    client.log_batch(run_id, metrics=[Metric("h", float(i), T0 + i, i) for i in range(30)])
    store = client._tracking_client.store
    seen, token, pages = [], None, 0
    while True:
        page = store.get_metric_history(run_id, "h", max_results=7, page_token=token)
        seen += [m.step for m in page]
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 5 and seen == list(range(30))


def test_delete_and_restore_run(client, exp):
    run_id = client.create_run(exp, run_name="victim").info.run_id
    client.delete_run(run_id)
    got = client.get_run(run_id)
    assert got.info.lifecycle_stage == "deleted"
    assert run_id not in [r.info.run_id for r in client.search_runs([exp])]
    assert [r.info.run_id for r in client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)] == [run_id]
    assert run_id in [r.info.run_id for r in client.search_runs([exp], run_view_type=ViewType.ALL)]
    with pytest.raises(MlflowException) as e:
        client.log_param(run_id, "p", "1")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    client.log_param(run_id, "p", "1")
    with pytest.raises(MlflowException) as e:
        client.delete_run("0" * 32)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_deleting_the_experiment_deletes_its_runs(client, exp):
    run_id = client.create_run(exp).info.run_id
    client.delete_experiment(exp)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    client.restore_experiment(exp)
    assert client.get_run(run_id).info.lifecycle_stage == "active"


# ------------------------------------------------------------------------------ log_input


def test_log_input_pandas_dataset(fluent, client, exp):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, source="/tmp/data/small.csv", name="small", targets="label")
    with fluent.start_run(experiment_id=exp, run_name="with-data") as run:
        fluent.log_input(dataset, context="training", tags={"split": "train"})
        fluent.log_input(dataset, context="training")  # the same dataset again: no second input
    got = client.get_run(run.info.run_id)
    [di] = got.inputs.dataset_inputs
    assert di.dataset.name == "small"
    assert di.dataset.digest == dataset.digest
    assert di.dataset.source_type == "local"
    assert "small.csv" in di.dataset.source
    assert di.dataset.schema == dataset.to_dict()["schema"]
    assert di.dataset.profile == dataset.to_dict()["profile"]
    assert {t.key: t.value for t in di.tags} == {"mlflow.data.context": "training", "split": "train"}
    found = client.search_runs([exp], "datasets.name = 'small' AND datasets.context = 'training'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    assert client.search_runs([exp], "datasets.digest = 'nope'") == []
    # search_runs returns the inputs too.
    [r] = found
    assert [d.dataset.name for d in r.inputs.dataset_inputs] == ["small"]


def test_log_inputs_two_datasets_and_limits(client, exp):
    from mlflow.entities import Dataset, DatasetInput, InputTag

    run_id = client.create_run(exp).info.run_id
    a = DatasetInput(Dataset("a", "d1", "local", "s"), [InputTag("mlflow.data.context", "eval")])
    b = DatasetInput(Dataset("b", "d2", "local", "s", schema="{}", profile="{}"), [])
    client.log_inputs(run_id, datasets=[a, b])
    got = client.get_run(run_id)
    assert sorted((d.dataset.name, d.dataset.digest) for d in got.inputs.dataset_inputs) == [("a", "d1"), ("b", "d2")]
    with pytest.raises(MlflowException) as e:
        client.log_inputs(run_id, datasets=[DatasetInput(Dataset("c", "g" * 37, "local", "s"), [])])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


# ------------------------------------------------------------------------------ search_runs

S = T0 + 10_000

# name -> (start offset, params, metrics, tags, status); "r-f" is deleted.
SEARCH_SET = {
    "r-a": (1, {"p": "1", "model": "cnn"}, {"acc": 0.9, "loss": 0.3}, {"team": "red"}, "FINISHED"),
    "r-b": (2, {"p": "2", "model": "rnn"}, {"acc": 0.7, "loss": 0.5}, {"team": "blue"}, "FINISHED"),
    "r-c": (3, {"p": "3", "model": "cnn"}, {"acc": 0.8, "loss": float("nan")}, {"team": "red"}, "FAILED"),
    "r-d": (4, {}, {"acc": 0.95}, {"team": "Red"}, "RUNNING"),
    "r-e": (5, {"p": "10", "model": "Transformer"}, {}, {}, "KILLED"),
    "r-f": (6, {"p": "6"}, {"acc": 0.99}, {"team": "red"}, "FINISHED"),
    "r-g": (7, {"p": "7", "model": "cnn"}, {"acc": 0.6, "loss": 0.1}, {"team": "green"}, "FINISHED"),
}


@pytest.fixture(scope="module")
def search_set(client):
    exp = client.create_experiment(f"search-{uuid.uuid4().hex[:8]}")
    ids = {}
    for name, (offset, params, metrics, tags, status) in SEARCH_SET.items():
        run = client.create_run(exp, start_time=S + offset, run_name=name, tags=tags)
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, T0 + offset, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
        )
        if status != "RUNNING":
            client.set_terminated(run_id, status, end_time=S + 100 + offset)
        ids[name] = run_id
    client.delete_run(ids["r-f"])
    return exp, ids


SEARCH_CASES = [
    # (filter, order_by, expected run names in order)
    ("", None, ["r-g", "r-e", "r-d", "r-c", "r-b", "r-a"]),
    ("metrics.acc > 0.75", ["metrics.acc DESC"], ["r-d", "r-a", "r-c"]),
    ("metrics.acc >= 0.7 AND params.model = 'cnn'", None, ["r-c", "r-a"]),
    ("metrics.loss < 0.4", ["start_time ASC"], ["r-a", "r-g"]),
    ("metrics.loss != 0.5", ["start_time ASC"], ["r-a", "r-c", "r-g"]),
    ("params.model = 'cnn'", ["start_time ASC"], ["r-a", "r-c", "r-g"]),
    ("params.model LIKE '%nn'", ["start_time ASC"], ["r-a", "r-b", "r-c", "r-g"]),
    ("params.model ILIKE 't%'", None, ["r-e"]),
    ("params.p IS NULL", None, ["r-d"]),
    ("params.p IS NOT NULL", ["params.p ASC"], ["r-a", "r-e", "r-b", "r-c", "r-g"]),
    ("tags.team = 'red'", None, ["r-c", "r-a"]),
    ("tags.team ILIKE 'red'", None, ["r-d", "r-c", "r-a"]),
    # (no mixed case in an ordering by string: PostgreSQL's order would be its collation's)
    ("tags.team != 'Red'", ["tags.team ASC", "start_time DESC"], ["r-b", "r-g", "r-c", "r-a"]),
    ("attributes.status = 'FINISHED'", None, ["r-g", "r-b", "r-a"]),
    ("attributes.status != 'FINISHED'", ["attributes.start_time ASC"], ["r-c", "r-d", "r-e"]),
    ("attributes.run_name LIKE 'r-%'", ["attributes.run_name DESC"], ["r-g", "r-e", "r-d", "r-c", "r-b", "r-a"]),
    ("attributes.`Run name` = 'r-b'", None, ["r-b"]),
    (f"attributes.start_time >= {S + 5}", None, ["r-g", "r-e"]),
    (f"created < {S + 3}", None, ["r-b", "r-a"]),
    (f"attributes.end_time <= {S + 103}", None, ["r-c", "r-b", "r-a"]),
    ("", ["metrics.acc ASC"], ["r-g", "r-b", "r-c", "r-a", "r-d", "r-e"]),
    ("", ["metrics.loss DESC"], ["r-b", "r-a", "r-g", "r-c", "r-e", "r-d"]),
    ("", ["metrics.loss ASC"], ["r-g", "r-a", "r-b", "r-c", "r-e", "r-d"]),
    ("", ["params.p DESC"], ["r-g", "r-c", "r-b", "r-e", "r-a", "r-d"]),
    ("", ["status ASC", "start_time ASC"], ["r-c", "r-a", "r-b", "r-g", "r-e", "r-d"]),
]


@pytest.mark.parametrize("filter_string, order_by, expected", SEARCH_CASES, ids=[f"{c[0] or 'all'} | {c[1]}" for c in SEARCH_CASES])
def test_search_runs_list_and_dataframe(client, fluent, search_set, filter_string, order_by, expected):
    exp, _ = search_set
    runs = client.search_runs([exp], filter_string, order_by=order_by)
    assert [r.info.run_name for r in runs] == expected
    df = fluent.search_runs(experiment_ids=[exp], filter_string=filter_string, order_by=order_by)
    assert isinstance(df, pd.DataFrame)
    assert (list(df["tags.mlflow.runName"]) if len(df) else []) == expected


def test_search_runs_run_id_filters(client, search_set):
    exp, ids = search_set
    found = client.search_runs([exp], f"attributes.run_id IN ('{ids['r-a']}', '{ids['r-c']}', '{ids['r-f']}')")
    assert [r.info.run_name for r in found] == ["r-c", "r-a"]
    found = client.search_runs([exp], f"run_id = '{ids['r-b']}'")
    assert [r.info.run_name for r in found] == ["r-b"]
    found = client.search_runs([exp], f"run_id NOT IN ('{ids['r-a']}')", order_by=["start_time ASC"])
    assert [r.info.run_name for r in found] == ["r-b", "r-c", "r-d", "r-e", "r-g"]
    # Ordered by run id: whatever the ids are, ascending.
    found = client.search_runs([exp], order_by=["attributes.run_id ASC"])
    assert [r.info.run_id for r in found] == sorted(ids[n] for n in ids if n != "r-f")


def test_search_runs_view_types(client, search_set):
    exp, _ = search_set
    names = lambda vt: sorted(r.info.run_name for r in client.search_runs([exp], run_view_type=vt))  # noqa: E731
    assert names(ViewType.ACTIVE_ONLY) == ["r-a", "r-b", "r-c", "r-d", "r-e", "r-g"]
    assert names(ViewType.DELETED_ONLY) == ["r-f"]
    assert names(ViewType.ALL) == ["r-a", "r-b", "r-c", "r-d", "r-e", "r-f", "r-g"]


def test_search_runs_returns_data(client, search_set):
    exp, _ = search_set
    [r] = client.search_runs([exp], "attributes.run_name = 'r-a'")
    assert r.data.params == {"p": "1", "model": "cnn"}
    assert r.data.metrics == {"acc": 0.9, "loss": 0.3}
    assert r.data.tags == {"team": "red", "mlflow.runName": "r-a"}
    assert r.info.status == "FINISHED" and r.info.start_time == S + 1 and r.info.end_time == S + 101
    [c] = client.search_runs([exp], "attributes.run_name = 'r-c'")
    assert math.isnan(c.data.metrics["loss"])


def test_search_runs_dataframe_columns(fluent, search_set):
    exp, ids = search_set
    df = fluent.search_runs(experiment_ids=[exp], order_by=["start_time ASC"])
    assert list(df["run_id"]) == [ids[n] for n in ("r-a", "r-b", "r-c", "r-d", "r-e", "r-g")]
    assert list(df["status"]) == ["FINISHED", "FINISHED", "FAILED", "RUNNING", "KILLED", "FINISHED"]
    assert list(df["params.model"].fillna("-")) == ["cnn", "rnn", "cnn", "-", "Transformer", "cnn"]
    assert list(df["metrics.acc"].fillna(-1)) == [0.9, 0.7, 0.8, 0.95, -1, 0.6]
    assert list(df["tags.team"].fillna("-")) == ["red", "blue", "red", "Red", "-", "green"]
    assert set(df["experiment_id"]) == {exp}
    assert str(df["start_time"].dtype).startswith("datetime64")
    runs = fluent.search_runs(experiment_ids=[exp], output_format="list", filter_string="params.p = '2'")
    assert [r.info.run_name for r in runs] == ["r-b"]


def test_search_runs_paging(client, search_set):
    exp, _ = search_set
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs([exp], order_by=["start_time ASC"], max_results=4, page_token=token)
        seen += [r.info.run_name for r in page]
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 2 and seen == ["r-a", "r-b", "r-c", "r-d", "r-e", "r-g"]
    page = client.search_runs([exp], max_results=6)
    assert len(page) == 6 and page.token is None


def test_search_runs_paging_many(fluent, client, exp):
    """25 runs, paged through 10 at a time with MlflowClient's page tokens; mlflow.search_runs
    gets them all (it pages internally)."""
    names = [f"many-{i:02d}" for i in range(25)]
    for i, n in enumerate(names):
        client.create_run(exp, start_time=T0 + i, run_name=n)
    seen, token = [], None
    while True:
        page = client.search_runs([exp], order_by=["start_time DESC"], max_results=10, page_token=token)
        seen += [r.info.run_name for r in page]
        token = page.token
        if not token:
            break
    assert seen == names[::-1]
    df = fluent.search_runs(experiment_ids=[exp], order_by=["attributes.run_name ASC"])
    assert list(df["tags.mlflow.runName"]) == names


def test_search_runs_several_experiments(client, search_set, exp):
    other, _ = search_set
    client.create_run(exp, start_time=S + 50, run_name="elsewhere")
    found = client.search_runs([exp, other], "attributes.run_name LIKE '%e%'", order_by=["start_time DESC"])
    assert [r.info.run_name for r in found] == ["elsewhere", "r-e"]


@pytest.mark.parametrize(
    "filter_string",
    ["params.p = '1' OR params.p = '2'", "metrics.acc = 'x'", "attributes.foo = 'x'", "params.p > '1'", "foo.bar = '1'", "metrics.acc IS NULL"],
)
def test_search_runs_bad_filter(client, search_set, filter_string):
    exp, _ = search_set
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp], filter_string)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("order_by", [["metrics.acc SIDEWAYS"], ["foo.acc"], ["attributes.foo"]])
def test_search_runs_bad_order_by(client, search_set, order_by):
    exp, _ = search_set
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp], order_by=order_by)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_runs_max_results_bounds(client, search_set):
    exp, _ = search_set
    assert len(client.search_runs([exp], max_results=50000)) == 6
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp], max_results=50001)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_status_enum_round_trip(client, exp):
    run_id = client.create_run(exp).info.run_id
    for status in ("SCHEDULED", "FAILED", "KILLED", "FINISHED", "RUNNING"):
        client.update_run(run_id, status=status)
        assert client.get_run(run_id).info.status == status
        assert RunStatus.from_string(status) is not None
