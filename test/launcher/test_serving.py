"""`mlflow-bun server` on PostgreSQL and SQLite, used by the real MLflow client: what the binary
serves natively and what it proxies to the MLflow server the launcher started behind it.

Each dialect's launcher lives for the module (they take seconds to start) and the module's last
test stops it with SIGTERM: pytest runs a module-scoped parameter's tests in file order."""

from __future__ import annotations

import signal
import uuid

import pytest
import requests

import servers
from launchers import Launcher, group_members


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def launcher(request, bin_dir, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"serving-{request.param}")
    db = None
    if request.param == "postgres":
        why = servers.postgres_available()
        if why:
            pytest.fail(f"{why} (set MLFLOW_BUN_PG_URL to an admin postgres:// URL)", pytrace=False)
        db = servers.PgDatabase.create(prefix="mlflow_bun_launcher")
        uri = db.uri  # postgresql://, as a user writes it
    else:
        uri = f"sqlite:///{workdir / 'mlflow.db'}"
    server = Launcher.start(bin_dir, ["--backend-store-uri", uri], workdir / "cwd", servers.free_port())
    try:
        yield server.wait_ready()
    finally:
        server.stop()
        if db is not None:
            db.drop()


def test_client_logs_runs_artifacts_and_registers_a_model(launcher, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(launcher.url)
    client = MlflowClient(launcher.url)
    experiment_id = mlflow.create_experiment(f"launcher-{uuid.uuid4().hex[:8]}")
    notes = tmp_path / "notes.txt"
    notes.write_text("served through mlflow-bun\n")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_param("alpha", "0.5")
        for step, value in enumerate([1.0, 0.5, 0.25]):
            mlflow.log_metric("loss", value, step=step)
        mlflow.log_artifact(str(notes), artifact_path="docs")
    run_id = run.info.run_id

    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert got.data.params == {"alpha": "0.5"}
    assert got.data.metrics == {"loss": 0.25}
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")] == [(0, 1.0), (1, 0.5), (2, 0.25)]
    assert [f.path for f in client.list_artifacts(run_id, "docs")] == ["docs/notes.txt"]
    downloaded = client.download_artifacts(run_id, "docs/notes.txt", str(tmp_path / "down"))
    assert open(downloaded).read() == "served through mlflow-bun\n"

    name = f"launcher-model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    version = client.create_model_version(name, source=f"{got.info.artifact_uri}/docs", run_id=run_id)
    assert version.version == "1"
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").run_id == run_id
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["1"]


# Routes mlflow-bun does not serve natively: the answer must be the Python server's own.
PROXIED = {
    "traces": ("GET", "/api/2.0/mlflow/traces?experiment_ids=0", None),
    "graphql": ("POST", "/graphql", {"query": 'query { mlflowGetExperiment(input: {experimentId: "0"}) { experiment { name lifecycleStage } } }'}),
}


@pytest.mark.parametrize("route", PROXIED)
def test_non_native_route_answers_as_python(launcher, route):
    method, path, body = PROXIED[route]
    via_bun = requests.request(method, launcher.url + path, json=body, timeout=30)
    direct = requests.request(method, launcher.python_url + path, json=body, timeout=30)
    assert via_bun.status_code == direct.status_code == 200
    assert via_bun.json() == direct.json()
    if route == "graphql":
        assert via_bun.json()["data"]["mlflowGetExperiment"]["experiment"]["name"] == "Default"


def test_sigterm_stops_both_servers(launcher):
    assert group_members(launcher.python_pid) and group_members(launcher.bun_pid)
    launcher.proc.send_signal(signal.SIGTERM)
    assert launcher.wait_exit() == 0
    # Each child leads its own process group (uvicorn and its workers included): none is left.
    assert group_members(launcher.python_pid) == []
    assert group_members(launcher.bun_pid) == []
    assert "[mlflow-bun] SIGTERM: stopping" in launcher.log()
