"""The real MLflow client (`MlflowClient`) against mlflow-bun's model registry, on SQLite and
PostgreSQL: registered models and model versions (create, rename, update, delete), tags, aliases,
stages, get-latest-versions, sources, search with filters and paging, and the errors the client
raises.

The expectations are MLflow's own behaviour: run with MLFLOW_BUN_PARITY_TARGET=python to check
them against the real MLflow server.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


@pytest.fixture(scope="module")
def client(bun_server) -> MlflowClient:
    return MlflowClient(tracking_uri=bun_server.url, registry_uri=bun_server.url)


@pytest.fixture
def uniq() -> str:
    """A name prefix no other test uses, so that filters can isolate a test's models."""
    return f"r{uuid.uuid4().hex[:10]}"


def code(excinfo) -> str:
    return excinfo.value.error_code


def text(excinfo) -> str:
    """The server's message (the REST client prefixes it with the error code)."""
    message = excinfo.value.message
    prefix = f"{excinfo.value.error_code}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def names(models) -> list[str]:
    return [m.name for m in models]


def versions(mvs) -> list[str]:
    return [f"{mv.name}/{mv.version}" for mv in mvs]


def _tick():
    time.sleep(0.005)


def rest_post(server, path: str, body: dict) -> dict:
    """A POST the client would not send (it refuses to create prompts as models)."""
    request = urllib.request.Request(
        f"{server.url}/api/2.0/mlflow/{path}", data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


# ------------------------------------------------------------------------ registered models


def test_create_and_get_registered_model(client, uniq):
    before = int(time.time() * 1000)
    rm = client.create_registered_model(f"{uniq}-m", tags={"team": "ml", "k": "v"}, description="desc")
    assert isinstance(rm, RegisteredModel)
    assert rm.name == f"{uniq}-m"
    assert rm.description == "desc"
    assert rm.tags == {"team": "ml", "k": "v"}
    assert rm.latest_versions == []
    assert rm.aliases == {}
    assert before - 1000 <= rm.creation_timestamp <= int(time.time() * 1000) + 1000
    assert rm.last_updated_timestamp == rm.creation_timestamp
    got = client.get_registered_model(f"{uniq}-m")
    assert (got.name, got.description, got.tags, got.creation_timestamp) == (rm.name, "desc", rm.tags, rm.creation_timestamp)


def test_create_registered_model_errors(client, uniq):
    client.create_registered_model(f"{uniq}-dup")
    with pytest.raises(MlflowException) as e:
        client.create_registered_model(f"{uniq}-dup")
    assert code(e) == "RESOURCE_ALREADY_EXISTS"
    assert text(e) == f"Registered Model (name={uniq}-dup) already exists."
    with pytest.raises(MlflowException) as e:
        client.create_registered_model("a/b")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert text(e) == "Invalid model name 'a/b'. Names cannot contain '/' or ':'."
    with pytest.raises(MlflowException) as e:
        client.create_registered_model(f"{uniq}-t", tags={"bad key!": "v"})
    assert code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(f"{uniq}-missing")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert text(e) == f"Registered Model with name={uniq}-missing not found"


def test_update_rename_delete_registered_model(client, uniq):
    client.create_registered_model(f"{uniq}-old", tags={"t": "1"}, description="first")
    client.create_model_version(f"{uniq}-old", "s3://bucket/m", tags={"vt": "x"})
    client.set_registered_model_alias(f"{uniq}-old", "champ", "1")
    _tick()
    updated = client.update_registered_model(f"{uniq}-old", description="second")
    assert updated.description == "second"
    client.rename_registered_model(f"{uniq}-old", f"{uniq}-new")
    renamed = client.get_registered_model(f"{uniq}-new")
    assert renamed.name == f"{uniq}-new"
    assert renamed.tags == {"t": "1"}
    assert renamed.aliases == {"champ": "1"}
    mv = client.get_model_version(f"{uniq}-new", "1")
    assert (mv.name, mv.tags, mv.aliases) == (f"{uniq}-new", {"vt": "x"}, ["champ"])
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(f"{uniq}-old")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    client.create_registered_model(f"{uniq}-other")
    with pytest.raises(MlflowException) as e:
        client.rename_registered_model(f"{uniq}-new", f"{uniq}-other")
    assert code(e) == "RESOURCE_ALREADY_EXISTS"
    assert text(e).startswith(f"Registered Model (name={uniq}-other) already exists. Error: ")
    client.delete_registered_model(f"{uniq}-new")
    with pytest.raises(MlflowException) as e:
        client.get_model_version(f"{uniq}-new", "1")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_registered_model(f"{uniq}-new")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    # the name is free again, and numbering starts over
    client.create_registered_model(f"{uniq}-new")
    assert client.create_model_version(f"{uniq}-new", "s3://bucket/again").version == "1"


def test_registered_model_tags(client, uniq):
    name = f"{uniq}-tags"
    client.create_registered_model(name, tags={"a": "1"})
    client.set_registered_model_tag(name, "b", "2")
    client.set_registered_model_tag(name, "a", "over")
    assert client.get_registered_model(name).tags == {"a": "over", "b": "2"}
    client.delete_registered_model_tag(name, "a")
    client.delete_registered_model_tag(name, "never-set")  # no error
    assert client.get_registered_model(name).tags == {"b": "2"}
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_tag(f"{uniq}-missing", "k", "v")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"


# ------------------------------------------------------------------------ model versions


def test_create_and_get_model_version(client, uniq):
    name = f"{uniq}-mv"
    client.create_registered_model(name)
    mv = client.create_model_version(name, "s3://bucket/path/model", run_id="abc123", tags={"k": "v"}, run_link="http://link", description="d")
    assert isinstance(mv, ModelVersion)
    assert (mv.name, mv.version, mv.source, mv.run_id, mv.run_link, mv.description) == (name, "1", "s3://bucket/path/model", "abc123", "http://link", "d")
    assert (mv.current_stage, mv.status, mv.tags, mv.aliases) == ("None", "READY", {"k": "v"}, [])
    assert mv.last_updated_timestamp == mv.creation_timestamp
    assert client.create_model_version(name, "s3://bucket/other").version == "2"
    got = client.get_model_version(name, "1")
    assert (got.source, got.run_id, got.tags, got.description) == (mv.source, "abc123", {"k": "v"}, "d")
    assert client.get_model_version_download_uri(name, "1") == "s3://bucket/path/model"
    assert client.get_registered_model(name).last_updated_timestamp >= mv.creation_timestamp


def test_model_version_errors(client, uniq):
    name = f"{uniq}-mverr"
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as e:
        client.create_model_version(f"{uniq}-missing", "s3://bucket/x")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.create_model_version(name, "s3://bucket/a/../b")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert "an absolute path must be provided without relative path references present" in text(e)
    with pytest.raises(MlflowException) as e:
        client.create_model_version(name, "/etc/passwd")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert "To use a local path as a model version source, the run_id request parameter has to be specified" in text(e)
    with pytest.raises(MlflowException) as e:
        client.create_model_version(name, "https://example.com/model")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert text(e).startswith("'source' cannot use the 'https' scheme")
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "7")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert text(e) == f"Model Version (name={name}, version=7) not found"
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "seven")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert text(e) == "Parameter 'version' must be an integer, got 'seven'."


def test_local_source_inside_the_runs_artifact_directory(client, uniq, tmp_path):
    exp_id = client.create_experiment(f"{uniq}-exp", artifact_location=str(tmp_path / "art"))
    run = client.create_run(exp_id)
    artifacts = run.info.artifact_uri
    name = f"{uniq}-local"
    client.create_registered_model(name)
    mv = client.create_model_version(name, f"{artifacts}/model", run_id=run.info.run_id)
    assert mv.source == f"{artifacts}/model"
    with pytest.raises(MlflowException) as e:
        client.create_model_version(name, f"{artifacts}/../../outside", run_id=run.info.run_id)
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert text(e).startswith(f"Invalid model version source: '{tmp_path / 'art'}")


def test_models_uri_source(client, uniq):
    up, down = f"{uniq}-up", f"{uniq}-down"
    client.create_registered_model(up)
    client.create_model_version(up, "s3://bucket/up1", run_id="run1")
    client.set_registered_model_alias(up, "champ", "1")
    client.create_registered_model(down)
    mv = client.create_model_version(down, f"models:/{up}@champ")
    assert (mv.source, mv.run_id) == (f"models:/{up}/1", "run1")
    assert client.get_model_version_download_uri(down, mv.version) == "s3://bucket/up1"


def test_update_and_delete_model_version(client, uniq):
    name = f"{uniq}-upd"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1", description="orig")
    client.create_model_version(name, "s3://bucket/2")
    _tick()
    mv = client.update_model_version(name, "1", description="changed")
    assert mv.description == "changed"
    assert mv.last_updated_timestamp > mv.creation_timestamp
    client.set_registered_model_alias(name, "a", "1")
    client.delete_model_version(name, "1")
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "1")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model(name).aliases == {}
    assert versions(client.search_model_versions(f"name = '{name}'")) == [f"{name}/2"]
    assert client.create_model_version(name, "s3://bucket/3").version == "3"  # numbers are never reused


def test_model_version_tags(client, uniq):
    name = f"{uniq}-mvtags"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1", tags={"a": "1"})
    client.set_model_version_tag(name, "1", "b", "2")
    client.set_model_version_tag(name, "1", "a", "over")
    assert client.get_model_version(name, "1").tags == {"a": "over", "b": "2"}
    client.delete_model_version_tag(name, "1", "a")
    assert client.get_model_version(name, "1").tags == {"b": "2"}
    with pytest.raises(MlflowException) as e:
        client.set_model_version_tag(name, "9", "k", "v")
    assert code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_stages_and_latest_versions(client, uniq):
    name = f"{uniq}-stages"
    client.create_registered_model(name)
    for i in range(4):
        client.create_model_version(name, f"s3://bucket/{i}")
    client.transition_model_version_stage(name, "1", "Staging")
    client.transition_model_version_stage(name, "2", "production")
    mv = client.transition_model_version_stage(name, "3", "Staging", archive_existing_versions=True)
    assert mv.current_stage == "Staging"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    latest = {mv.current_stage: mv.version for mv in client.get_latest_versions(name)}
    assert latest == {"Archived": "1", "Production": "2", "Staging": "3", "None": "4"}
    assert [mv.version for mv in client.get_latest_versions(name, stages=["staging"])] == ["3"]
    with pytest.raises(MlflowException) as e:
        client.transition_model_version_stage(name, "1", "bogus")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.get_latest_versions(name, stages=["bogus"])
    assert code(e) == "INVALID_PARAMETER_VALUE"


def test_aliases(client, uniq):
    name = f"{uniq}-alias"
    client.create_registered_model(name)
    for i in range(3):
        client.create_model_version(name, f"s3://bucket/{i}")
    client.set_registered_model_alias(name, "champ", "1")
    client.set_registered_model_alias(name, "champ", "2")  # moves
    client.set_registered_model_alias(name, "other", "2")
    mv = client.get_model_version_by_alias(name, "champ")
    assert mv.version == "2"
    assert sorted(mv.aliases) == ["champ", "other"]
    assert client.get_registered_model(name).aliases == {"champ": "2", "other": "2"}
    assert client.get_model_version_by_alias(name, "latest").version == "3"
    client.delete_registered_model_alias(name, "other")
    assert client.get_model_version(name, "2").aliases == ["champ"]
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(name, "nope")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert text(e) == "Registered model alias nope not found."
    for bad, message in [("v1", "Version alias name 'v1' is reserved."), ("latest", "'latest' alias name (case insensitive) is reserved.")]:
        with pytest.raises(MlflowException) as e:
            client.set_registered_model_alias(name, bad, "1")
        assert (code(e), text(e)) == ("INVALID_PARAMETER_VALUE", message)


# ------------------------------------------------------------------------ search


@pytest.fixture
def search_set(client, uniq, bun_server):
    for suffix, tags in [("alpha", {"team": "ml"}), ("beta", {"team": "ml", "env": "dev"}), ("Gamma", {"team": "data"}), ("delta", {})]:
        client.create_registered_model(f"{uniq}-{suffix}", tags=tags)
        _tick()
    rest_post(bun_server, "registered-models/create", {"name": f"{uniq}-prompt", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]})
    for i in range(3):
        client.create_model_version(f"{uniq}-alpha", f"s3://bucket/a{i}", run_id=f"{uniq}run{i}", tags={"i": str(i)})
        _tick()
    client.create_model_version(f"{uniq}-beta", "s3://bucket/b0", run_id=f"{uniq}run1")
    return uniq


def test_search_registered_models(client, search_set):
    p = search_set
    assert names(client.search_registered_models(f"name LIKE '{p}-%'")) == [f"{p}-Gamma", f"{p}-alpha", f"{p}-beta", f"{p}-delta"]
    assert names(client.search_registered_models(f"name ILIKE '{p}-gamma'")) == [f"{p}-Gamma"]
    assert names(client.search_registered_models(f"name LIKE '{p}-%' AND tags.team = 'ml'")) == [f"{p}-alpha", f"{p}-beta"]
    assert names(client.search_registered_models(f"name LIKE '{p}-%' AND tags.team = 'ml' AND tags.env = 'dev'")) == [f"{p}-beta"]
    assert names(client.search_registered_models(f"name IN ('{p}-alpha', '{p}-delta', '{p}-prompt')")) == [f"{p}-alpha", f"{p}-delta"]
    assert names(client.search_registered_models(f"name LIKE '{p}-%' AND tags.`mlflow.prompt.is_prompt` = 'true'")) == [f"{p}-prompt"]
    assert names(client.search_registered_models(f"name LIKE '{p}-%'", order_by=["name DESC"])) == [f"{p}-delta", f"{p}-beta", f"{p}-alpha", f"{p}-Gamma"]
    # alpha got versions last: the most recently updated
    assert names(client.search_registered_models(f"name LIKE '{p}-%'", order_by=["last_updated_timestamp DESC"]))[:2] == [f"{p}-beta", f"{p}-alpha"]
    alpha = client.search_registered_models(f"name = '{p}-alpha'")[0]
    assert [mv.version for mv in alpha.latest_versions] == ["3"]
    with pytest.raises(MlflowException) as e:
        client.search_registered_models("foo = 'bar'")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert text(e) == "Invalid attribute key 'foo' specified. Valid keys are '{'name'}'"
    with pytest.raises(MlflowException) as e:
        client.search_registered_models(max_results=1001)
    assert code(e) == "INVALID_PARAMETER_VALUE"


def test_search_registered_models_paging(client, search_set):
    p = search_set
    page1 = client.search_registered_models(f"name LIKE '{p}-%'", max_results=3)
    assert names(page1) == [f"{p}-Gamma", f"{p}-alpha", f"{p}-beta"]
    assert page1.token
    page2 = client.search_registered_models(f"name LIKE '{p}-%'", max_results=3, page_token=page1.token)
    assert names(page2) == [f"{p}-delta"]
    assert not page2.token


def test_search_model_versions(client, search_set):
    p = search_set
    assert versions(client.search_model_versions(f"name LIKE '{p}-%'")) == [f"{p}-beta/1", f"{p}-alpha/3", f"{p}-alpha/2", f"{p}-alpha/1"]
    assert versions(client.search_model_versions(f"run_id = '{p}run1'")) == [f"{p}-beta/1", f"{p}-alpha/2"]
    assert versions(client.search_model_versions(f"run_id IN ('{p}run0', '{p}run2')")) == [f"{p}-alpha/3", f"{p}-alpha/1"]
    assert versions(client.search_model_versions(f"name = '{p}-alpha' AND version_number >= 2")) == [f"{p}-alpha/3", f"{p}-alpha/2"]
    assert versions(client.search_model_versions(f"name = '{p}-alpha' AND tags.i = '1'")) == [f"{p}-alpha/2"]
    assert versions(client.search_model_versions(f"source_path LIKE 's3://bucket/a%' AND name = '{p}-alpha'", order_by=["version_number ASC"])) == [
        f"{p}-alpha/1", f"{p}-alpha/2", f"{p}-alpha/3",
    ]
    page1 = client.search_model_versions(f"name LIKE '{p}-%'", max_results=3)
    assert versions(page1) == [f"{p}-beta/1", f"{p}-alpha/3", f"{p}-alpha/2"]
    page2 = client.search_model_versions(f"name LIKE '{p}-%'", max_results=3, page_token=page1.token)
    assert versions(page2) == [f"{p}-alpha/1"]
    assert not page2.token
    with pytest.raises(MlflowException) as e:
        client.search_model_versions("version_number = 'x'")
    assert code(e) == "INVALID_PARAMETER_VALUE"
    assert text(e) == "Invalid value for numeric attribute 'version_number': 'x'"


def test_concurrent_version_creates(client, uniq):
    name = f"{uniq}-conc"
    client.create_registered_model(name)
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda i: client.create_model_version(name, f"s3://bucket/{i}").version, range(24)))
    assert sorted(int(v) for v in created) == list(range(1, 25))
