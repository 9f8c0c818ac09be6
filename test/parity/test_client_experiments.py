"""The real MLflow client (`MlflowClient` and the fluent `mlflow.*` API) against mlflow-bun, on
SQLite and PostgreSQL: every experiments call, and the errors the client raises.

The expectations are MLflow's own behaviour: run with MLFLOW_BUN_PARITY_TARGET=python to check
them against the real MLflow server.
"""

from __future__ import annotations

import os
import time
import uuid

import mlflow
import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


@pytest.fixture(scope="module")
def client(bun_server) -> MlflowClient:
    return MlflowClient(tracking_uri=bun_server.url)


@pytest.fixture
def uniq() -> str:
    """A name prefix no other test uses, so that filters can isolate a test's experiments."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fluent(bun_server):
    """The fluent API (mlflow.*), pointed at the server for the test's duration."""
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    try:
        with _use_tracking_uri(bun_server.url):
            yield mlflow
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI", None)


def error_code(excinfo) -> str:
    return excinfo.value.error_code


def names(experiments) -> list[str]:
    return [e.name for e in experiments]


def _sleep_ms():
    # Distinct creation times, so that ordering by time is deterministic.
    time.sleep(0.005)


# ------------------------------------------------------------------------------ create / get


def test_create_experiment_with_tags_and_artifact_location(client, uniq, tmp_path):
    location = str(tmp_path / "artifacts")
    before = int(time.time() * 1000)
    exp_id = client.create_experiment(f"{uniq}-full", artifact_location=location, tags={"team": "ml", "stage": "dev"})
    after = int(time.time() * 1000)
    assert isinstance(exp_id, str) and exp_id.isdigit()

    exp = client.get_experiment(exp_id)
    assert exp.experiment_id == exp_id
    assert exp.name == f"{uniq}-full"
    assert exp.artifact_location == location
    assert exp.lifecycle_stage == "active"
    assert exp.tags == {"team": "ml", "stage": "dev"}
    assert before - 1000 <= exp.creation_time <= after + 1000
    assert exp.last_update_time == exp.creation_time


def test_create_experiment_default_artifact_location(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-plain")
    exp = client.get_experiment(exp_id)
    assert exp.artifact_location == f"mlflow-artifacts:/{exp_id}"
    assert exp.tags == {}
    assert exp.lifecycle_stage == "active"


def test_create_experiment_ids_increase(client, uniq):
    a = client.create_experiment(f"{uniq}-a")
    b = client.create_experiment(f"{uniq}-b")
    assert int(b) > int(a) > 0


def test_create_experiment_file_uri_artifact_location(client, uniq, tmp_path):
    uri = (tmp_path / "file-art").as_uri()
    exp_id = client.create_experiment(f"{uniq}-file", artifact_location=uri)
    assert client.get_experiment(exp_id).artifact_location == uri


def test_default_experiment(client):
    exp = client.get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    assert exp.artifact_location == "mlflow-artifacts:/0"
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_get_experiment_by_name(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-byname", tags={"k": "v"})
    exp = client.get_experiment_by_name(f"{uniq}-byname")
    assert exp is not None
    assert exp.experiment_id == exp_id
    assert exp.tags == {"k": "v"}
    assert client.get_experiment_by_name(f"{uniq}-missing") is None
    # Names are matched exactly, case included.
    assert client.get_experiment_by_name(f"{uniq}-BYNAME") is None


def test_get_experiment_by_name_unusual_characters(client, uniq):
    name = f"{uniq} spaces/slashes ü 名前 %_ 'quote' \"dq\" &amp;?#"
    exp_id = client.create_experiment(name)
    assert client.get_experiment_by_name(name).experiment_id == exp_id
    assert client.get_experiment(exp_id).name == name


def test_get_experiment_missing_id(client):
    with pytest.raises(MlflowException) as e:
        client.get_experiment("987654321")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert "987654321" in e.value.message


def test_get_experiment_non_integer_id(client):
    with pytest.raises(MlflowException) as e:
        client.get_experiment("not-a-number")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_create_duplicate_name(client, uniq):
    client.create_experiment(f"{uniq}-dup")
    with pytest.raises(MlflowException) as e:
        client.create_experiment(f"{uniq}-dup")
    assert error_code(e) == "RESOURCE_ALREADY_EXISTS"


def test_create_duplicate_of_deleted_name(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-deldup")
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as e:
        client.create_experiment(f"{uniq}-deldup")
    assert error_code(e) == "RESOURCE_ALREADY_EXISTS"


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "blank"])
def test_create_invalid_name(client, name):
    with pytest.raises(MlflowException) as e:
        client.create_experiment(name)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_create_name_too_long(client, uniq):
    with pytest.raises(MlflowException) as e:
        client.create_experiment(uniq + "x" * 500)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_create_invalid_tag_key(client, uniq):
    with pytest.raises(MlflowException) as e:
        client.create_experiment(f"{uniq}-badtag", tags={"bad key!": "v"})
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    assert client.get_experiment_by_name(f"{uniq}-badtag") is None


def test_create_runs_uri_artifact_location_rejected(client, uniq):
    with pytest.raises(MlflowException) as e:
        client.create_experiment(f"{uniq}-runs", artifact_location="runs:/abc/artifacts")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


# ------------------------------------------------------------------------------ search


@pytest.fixture
def search_set(client, uniq):
    """Five experiments (one deleted later by some tests), created in a known order."""
    specs = [
        ("alpha", {"team": "ml", "env": "prod"}),
        ("beta", {"team": "ml", "env": "dev"}),
        ("Gamma", {"team": "data"}),
        ("delta", {}),
        ("epsilon", {"team": "ML", "my key": "spaced"}),
    ]
    ids = {}
    for suffix, tags in specs:
        ids[suffix] = client.create_experiment(f"{uniq}-{suffix}", tags=tags)
        _sleep_ms()
    return {"prefix": uniq, "ids": ids, "exps": {k: client.get_experiment(v) for k, v in ids.items()}}


def _search(client, prefix, extra=None, **kwargs):
    filt = f"name LIKE '{prefix}-%'" + (f" AND {extra}" if extra else "")
    return client.search_experiments(filter_string=filt, **kwargs)


def test_search_default_order_is_newest_first(client, search_set):
    res = _search(client, search_set["prefix"])
    assert [e.experiment_id for e in res] == list(reversed(search_set["ids"].values()))
    assert res.token is None


@pytest.mark.parametrize(
    "extra,expected",
    [
        ("name = '{p}-alpha'", ["alpha"]),
        ("name != '{p}-alpha'", ["epsilon", "delta", "Gamma", "beta"]),
        ("name LIKE '{p}-%a'", ["delta", "Gamma", "beta", "alpha"]),
        ("name LIKE '{p}-g%'", []),
        ("name ILIKE '{p}-G%'", ["Gamma"]),
        ("name ILIKE '{p}-%TA'", ["delta", "beta"]),
        ("attributes.name = '{p}-beta'", ["beta"]),
        ("tags.team = 'ml'", ["beta", "alpha"]),
        ("tags.team != 'ml'", ["epsilon", "Gamma"]),
        ("tags.team ILIKE 'ml'", ["epsilon", "beta", "alpha"]),
        ("tags.team LIKE 'd%'", ["Gamma"]),
        ("tags.`team` = 'data'", ["Gamma"]),
        ('tags."env" = \'dev\'', ["beta"]),
        ("tags.`my key` = 'spaced'", ["epsilon"]),
        ("tags.team = 'ml' AND tags.env = 'prod'", ["alpha"]),
        ("tags.team IS NULL", ["delta"]),
        ("tags.env IS NOT NULL", ["beta", "alpha"]),
        ("tags.team = 'nobody'", []),
    ],
)
def test_search_filters(client, search_set, extra, expected):
    res = _search(client, search_set["prefix"], extra.format(p=search_set["prefix"]))
    assert [e.name.split("-", 1)[1] for e in res] == expected


def test_search_filter_experiment_id(client, search_set):
    ids = search_set["ids"]
    res = _search(client, search_set["prefix"], f"experiment_id = '{ids['beta']}'")
    assert [e.experiment_id for e in res] == [ids["beta"]]
    res = _search(client, search_set["prefix"], f"experiment_id IN ('{ids['beta']}', '{ids['delta']}')")
    assert sorted(e.experiment_id for e in res) == sorted([ids["beta"], ids["delta"]])


def test_search_creation_time_comparisons(client, search_set):
    exps = search_set["exps"]
    t = exps["Gamma"].creation_time
    p = search_set["prefix"]
    sfx = lambda res: [e.name.split("-", 1)[1] for e in res]  # noqa: E731
    assert sfx(_search(client, p, f"creation_time > {t}")) == ["epsilon", "delta"]
    assert sfx(_search(client, p, f"creation_time >= {t}")) == ["epsilon", "delta", "Gamma"]
    assert sfx(_search(client, p, f"creation_time < {t}")) == ["beta", "alpha"]
    assert sfx(_search(client, p, f"creation_time <= {t}")) == ["Gamma", "beta", "alpha"]
    assert sfx(_search(client, p, f"creation_time = {t}")) == ["Gamma"]
    assert sfx(_search(client, p, f"creation_time != {t}")) == ["epsilon", "delta", "beta", "alpha"]
    assert sfx(_search(client, p, "last_update_time > 0")) == ["epsilon", "delta", "Gamma", "beta", "alpha"]


@pytest.mark.parametrize(
    "order_by,expected",
    [
        (["name"], ["Gamma", "alpha", "beta", "delta", "epsilon"]),
        (["name ASC"], ["Gamma", "alpha", "beta", "delta", "epsilon"]),
        (["name DESC"], ["epsilon", "delta", "beta", "alpha", "Gamma"]),
        (["creation_time"], ["alpha", "beta", "Gamma", "delta", "epsilon"]),
        (["creation_time DESC"], ["epsilon", "delta", "Gamma", "beta", "alpha"]),
        (["experiment_id DESC"], ["epsilon", "delta", "Gamma", "beta", "alpha"]),
        (["last_update_time ASC"], ["alpha", "beta", "Gamma", "delta", "epsilon"]),
    ],
)
def test_search_order_by(client, search_set, order_by, expected):
    res = _search(client, search_set["prefix"], order_by=order_by)
    assert [e.name.split("-", 1)[1] for e in res] == expected


def test_search_paging(client, search_set):
    all_ids = [e.experiment_id for e in _search(client, search_set["prefix"], order_by=["name ASC"])]
    seen, token, pages = [], None, 0
    while True:
        page = _search(client, search_set["prefix"], max_results=2, order_by=["name ASC"], page_token=token)
        pages += 1
        assert len(page) <= 2
        seen += [e.experiment_id for e in page]
        token = page.token
        if not token:
            break
        assert pages < 10, "paging does not end"
    assert pages == 3
    assert seen == all_ids


def test_search_paging_exact_multiple(client, search_set):
    p = search_set["prefix"]
    first = _search(client, p, "name != '{}-delta'".format(p), max_results=2)
    assert len(first) == 2 and first.token
    second = _search(client, p, "name != '{}-delta'".format(p), max_results=2, page_token=first.token)
    assert len(second) == 2
    # MLflow fetches max_results + 1 rows: with exactly 4 matches, the second page has no token.
    assert second.token is None


def test_search_view_types(client, search_set):
    ids = search_set["ids"]
    p = search_set["prefix"]
    client.delete_experiment(ids["beta"])
    client.delete_experiment(ids["delta"])
    sfx = lambda res: [e.name.split("-", 1)[1] for e in res]  # noqa: E731
    assert sfx(_search(client, p)) == ["epsilon", "Gamma", "alpha"]
    assert sfx(_search(client, p, view_type=ViewType.ACTIVE_ONLY)) == ["epsilon", "Gamma", "alpha"]
    assert sfx(_search(client, p, view_type=ViewType.DELETED_ONLY)) == ["delta", "beta"]
    assert sfx(_search(client, p, view_type=ViewType.ALL)) == ["epsilon", "delta", "Gamma", "beta", "alpha"]
    deleted = _search(client, p, view_type=ViewType.DELETED_ONLY)
    assert {e.lifecycle_stage for e in deleted} == {"deleted"}


def test_search_returns_tags(client, search_set):
    res = _search(client, search_set["prefix"], f"name = '{search_set['prefix']}-alpha'")
    assert res[0].tags == {"team": "ml", "env": "prod"}
    assert res[0].artifact_location == f"mlflow-artifacts:/{search_set['ids']['alpha']}"


def test_search_includes_default_experiment(client):
    res = client.search_experiments(filter_string="name = 'Default'")
    assert [e.experiment_id for e in res] == ["0"]


def test_search_max_results_bounds(client, search_set):
    assert len(_search(client, search_set["prefix"], max_results=1)) == 1
    assert len(_search(client, search_set["prefix"], max_results=50000)) == 5
    with pytest.raises(MlflowException) as e:
        client.search_experiments(max_results=50001)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "filter_string",
    [
        "name = 'a' OR name = 'b'",
        "(name = 'a')",
        "foo = 'bar'",
        "name > 'a'",
        "name = alpha",
        "params.x = '1'",
        "creation_time = 'abc'",
        "creation_time LIKE '1%'",
        "tags.team > 'x'",
        "experiment_id > '1'",
        "name IS NULL",
    ],
)
def test_search_bad_filter(client, filter_string):
    with pytest.raises(MlflowException) as e:
        client.search_experiments(filter_string=filter_string)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("order_by", [["foo"], ["tags.team"], ["name SIDEWAYS"], ["name ASC DESC"]])
def test_search_bad_order_by(client, order_by):
    with pytest.raises(MlflowException) as e:
        client.search_experiments(order_by=order_by)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_search_bad_page_token(client):
    with pytest.raises(MlflowException) as e:
        client.search_experiments(page_token="definitely-not-a-token")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_fluent_search_experiments(fluent, search_set):
    p = search_set["prefix"]
    res = fluent.search_experiments(filter_string=f"name LIKE '{p}-%'", order_by=["name DESC"])
    assert names(res) == [f"{p}-{s}" for s in ["epsilon", "delta", "beta", "alpha", "Gamma"]]
    res = fluent.search_experiments(filter_string=f"name LIKE '{p}-%' AND tags.team = 'ml'")
    assert names(res) == [f"{p}-beta", f"{p}-alpha"]
    res = fluent.search_experiments(filter_string=f"name LIKE '{p}-%'", max_results=3, order_by=["name"])
    assert names(res) == [f"{p}-{s}" for s in ["Gamma", "alpha", "beta"]]


def test_fluent_search_experiments_pages_through_everything(fluent, client, uniq):
    # The fluent API without max_results pages through all results (1000 per page).
    for i in range(3):
        client.create_experiment(f"{uniq}-page-{i}")
    res = fluent.search_experiments(filter_string=f"name LIKE '{uniq}-page-%'", view_type=ViewType.ALL)
    assert sorted(names(res)) == [f"{uniq}-page-{i}" for i in range(3)]


def test_fluent_get_and_create(fluent, uniq):
    exp_id = fluent.create_experiment(f"{uniq}-fluent", tags={"a": "b"})
    assert fluent.get_experiment(exp_id).tags == {"a": "b"}
    assert fluent.get_experiment_by_name(f"{uniq}-fluent").experiment_id == exp_id
    fluent.delete_experiment(exp_id)
    assert fluent.get_experiment(exp_id).lifecycle_stage == "deleted"


# ------------------------------------------------------------------------------ delete / restore


def test_delete_and_restore(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-dr")
    created = client.get_experiment(exp_id)
    _sleep_ms()
    client.delete_experiment(exp_id)
    deleted = client.get_experiment(exp_id)
    assert deleted.lifecycle_stage == "deleted"
    assert deleted.last_update_time >= created.last_update_time
    # Deleted experiments are still found by name.
    assert client.get_experiment_by_name(f"{uniq}-dr").lifecycle_stage == "deleted"
    _sleep_ms()
    client.restore_experiment(exp_id)
    restored = client.get_experiment(exp_id)
    assert restored.lifecycle_stage == "active"
    assert restored.last_update_time >= deleted.last_update_time


def test_delete_twice(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-del2")
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as e:
        client.delete_experiment(exp_id)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_missing(client):
    with pytest.raises(MlflowException) as e:
        client.delete_experiment("987654321")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_non_integer_id(client):
    with pytest.raises(MlflowException) as e:
        client.delete_experiment("abc")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_restore_active(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-ra")
    with pytest.raises(MlflowException) as e:
        client.restore_experiment(exp_id)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_restore_missing(client):
    with pytest.raises(MlflowException) as e:
        client.restore_experiment("987654321")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


# ------------------------------------------------------------------------------ rename


def test_rename(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-old")
    before = client.get_experiment(exp_id)
    _sleep_ms()
    client.rename_experiment(exp_id, f"{uniq}-new")
    after = client.get_experiment(exp_id)
    assert after.name == f"{uniq}-new"
    assert after.last_update_time >= before.last_update_time
    assert after.creation_time == before.creation_time
    assert client.get_experiment_by_name(f"{uniq}-old") is None
    assert client.get_experiment_by_name(f"{uniq}-new").experiment_id == exp_id


def test_rename_to_same_name(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-same")
    client.rename_experiment(exp_id, f"{uniq}-same")
    assert client.get_experiment(exp_id).name == f"{uniq}-same"


def test_rename_deleted(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-rdel")
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as e:
        client.rename_experiment(exp_id, f"{uniq}-rdel2")
    assert error_code(e) == "INVALID_STATE"
    assert client.get_experiment(exp_id).name == f"{uniq}-rdel"


def test_rename_missing(client, uniq):
    with pytest.raises(MlflowException) as e:
        client.rename_experiment("987654321", f"{uniq}-x")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_rename_to_blank(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-blank")
    with pytest.raises(MlflowException) as e:
        client.rename_experiment(exp_id, "   ")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_rename_to_existing_name(client, uniq):
    client.create_experiment(f"{uniq}-taken")
    exp_id = client.create_experiment(f"{uniq}-mover")
    with pytest.raises(MlflowException) as e:
        client.rename_experiment(exp_id, f"{uniq}-taken")
    # MLflow's store does not catch the unique-constraint violation itself: its session maker
    # turns the IntegrityError into BAD_REQUEST (HTTP 400).
    assert error_code(e) == "BAD_REQUEST"
    assert client.get_experiment(exp_id).name == f"{uniq}-mover"


# ------------------------------------------------------------------------------ tags


def test_set_and_delete_experiment_tag(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-tags", tags={"keep": "1"})
    client.set_experiment_tag(exp_id, "color", "red")
    assert client.get_experiment(exp_id).tags == {"keep": "1", "color": "red"}
    client.set_experiment_tag(exp_id, "color", "blue")  # overwrite
    assert client.get_experiment(exp_id).tags == {"keep": "1", "color": "blue"}
    client.set_experiment_tag(exp_id, "number", 42)  # the client stringifies values
    assert client.get_experiment(exp_id).tags["number"] == "42"
    client.set_experiment_tag(exp_id, "empty", "")
    assert client.get_experiment(exp_id).tags["empty"] == ""
    client.delete_experiment_tag(exp_id, "color")
    assert client.get_experiment(exp_id).tags == {"keep": "1", "number": "42", "empty": ""}
    # Tags are visible to search.
    res = client.search_experiments(filter_string=f"name = '{uniq}-tags' AND tags.number = '42'")
    assert [e.experiment_id for e in res] == [exp_id]


def test_set_tag_long_value(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-long")
    client.set_experiment_tag(exp_id, "long", "v" * 20000)
    assert client.get_experiment(exp_id).tags["long"] == "v" * 20000
    with pytest.raises(MlflowException) as e:
        client.set_experiment_tag(exp_id, "toolong", "v" * 20001)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_set_tag_invalid_key(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-badkey")
    for key in ["bad key!", "../up", "k" * 251]:
        with pytest.raises(MlflowException) as e:
            client.set_experiment_tag(exp_id, key, "v")
        assert error_code(e) == "INVALID_PARAMETER_VALUE", key


def test_set_tag_on_deleted_experiment(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-tdel")
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as e:
        client.set_experiment_tag(exp_id, "k", "v")
    # _check_experiment_is_active: INVALID_PARAMETER_VALUE, not INVALID_STATE.
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    assert "must be in the 'active' state" in e.value.message


def test_set_tag_on_missing_experiment(client):
    with pytest.raises(MlflowException) as e:
        client.set_experiment_tag("987654321", "k", "v")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_missing_tag(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-notag")
    with pytest.raises(MlflowException) as e:
        client.delete_experiment_tag(exp_id, "nope")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_tag_on_deleted_experiment(client, uniq):
    exp_id = client.create_experiment(f"{uniq}-dtdel", tags={"k": "v"})
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as e:
        client.delete_experiment_tag(exp_id, "k")
    # _check_experiment_is_active: INVALID_PARAMETER_VALUE, not INVALID_STATE.
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    assert "must be in the 'active' state" in e.value.message


def test_delete_tag_on_missing_experiment(client):
    with pytest.raises(MlflowException) as e:
        client.delete_experiment_tag("987654321", "k")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
