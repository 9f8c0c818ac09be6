"""Differential test of the model registry API: registered models (create, rename, update, delete,
get, search, get-latest-versions, tags, aliases) and model versions (create, update,
transition-stage, delete, get, search, get-download-uri, tags) — one request sequence, sent step
by step to the real MLflow server and to mlflow-bun (each on its own fresh database), compared
response by response.

The machinery lives in differential.py (its docstring says what is normalised); this module uses
its "runs" mode: the registry's ``creation_timestamp`` / ``last_updated_timestamp`` are times the
servers took from their clocks (``<TIME>``), the runs that model versions come from are named
after the step that created them (``<run from setup/run-a>``), also inside sources and download
URIs, and tags are compared sorted by key. Everything else (model names, version numbers, stages,
aliases, page tokens, which are offsets) is the same on both servers and compared as it is.

The sources of model versions depend on where each server roots its artifacts: the SQLite pair
serves ``mlflow-artifacts:/`` and the PostgreSQL pair a local directory (conftest.py), so a source
"inside the run's artifact directory" is built from the run's own ``artifact_uri`` as each server
answered it (``{value:art-a}/model``), and both validation paths (URI containment and local path
containment) are compared, one per dialect.

Run: ``.venv/bin/python -m pytest test/parity/test_differential_registry.py -q`` (``-k sqlite``;
with ``-k`` every step before a selected one is replayed first, uncompared).
``MLFLOW_BUN_PARITY_TARGET=python`` runs it Python against Python, which checks that the
normalisation leaves nothing that differs between two real MLflow servers.
"""

from __future__ import annotations

import base64
import json

import pytest

from differential import JSON_CT, NOBODY, Id, Run, Step, Suite

API = "/api/2.0/mlflow/"
AJAX = "/ajax-api/2.0/mlflow/"
RM = "registered-models/"
MV = "model-versions/"
T0 = 1700000000000  # run start times: 2023, never "now"
PROMPT_TAG = "mlflow.prompt.is_prompt"


def _path(path: str) -> str:
    return path if path.startswith("/") else API + path


def post(name, path, body=NOBODY, **kw) -> Step:
    return Step(name, "POST", _path(path), json=body, **kw)


def get(name, path, params=None, **kw) -> Step:
    return Step(name, "GET", _path(path), params=params, **kw)


def patch(name, path, body=NOBODY, **kw) -> Step:
    return Step(name, "PATCH", _path(path), json=body, **kw)


def delete(name, path, body=NOBODY, **kw) -> Step:
    return Step(name, "DELETE", _path(path), json=body, **kw)


def kv(**pairs) -> list:
    return [{"key": k, "value": v} for k, v in pairs.items()]


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def create_model(step, name, **extra) -> Step:
    return post(step, RM + "create", {"name": name, **extra})


def create_version(step, name, source, **extra) -> Step:
    return post(step, MV + "create", {"name": name, "source": source, **extra})


def get_model(step, name) -> Step:
    return get(step, RM + "get", {"name": name})


def get_version(step, name, version) -> Step:
    return get(step, MV + "get", {"name": name, "version": version})


def rm_search(step, params=None, **kw) -> Step:
    """GET registered-models/search (the only method it has)."""
    return get(step, RM + "search", params, **kw)


def mv_search(step, params=None, **kw) -> Step:
    return get(step, MV + "search", params, **kw)


def runs_source(run: str, path: str = "model") -> str:
    return "runs:/{run:" + run + "}/" + path


# ------------------------------------------------------------------------------ the steps

SETUP = [
    post("setup/experiment", "experiments/create", {"name": "registry-sources"}, capture={"id:ex": "experiment_id"}),
    post("setup/run-a", "runs/create", {"experiment_id": Id("ex"), "start_time": T0, "run_name": "a"}, capture={"run:a": "run.info.run_id", "value:art-a": "run.info.artifact_uri"}),
    post("setup/run-b", "runs/create", {"experiment_id": Id("ex"), "start_time": T0 + 1, "run_name": "b"}, capture={"run:b": "run.info.run_id", "value:art-b": "run.info.artifact_uri"}),
]

CREATE_MODEL = [
    create_model("rm-create/basic", "alpha"),
    create_model("rm-create/tags-and-description", "beta", description="the beta model", tags=kv(team="ml", stage="dev")),
    create_model("rm-create/unicode-name", "ünï 模型 🚀"),
    create_model("rm-create/name-with-spaces-and-dots", "my model.v1"),
    create_model("rm-create/name-256", "n" * 256),
    create_model("rm-create/name-257", "n" * 257),
    create_model("rm-create/tag-empty-value", "tag-empty", tags=kv(k="")),
    create_model("rm-create/tag-missing-value", "tag-novalue", tags=[{"key": "k"}]),
    create_model("rm-create/tag-key-250", "tag-key-250", tags=kv(**{"k" * 250: "v"})),
    create_model("rm-create/tag-value-5000", "tag-value-5000", tags=kv(big="v" * 5000)),
    create_model("rm-create/tag-value-5001", "tag-value-5001", tags=kv(big="v" * 5001)),
    create_model("rm-create/description-5000", "desc-5000", description="d" * 5000),
    create_model("rm-create/description-5001", "desc-5001", description="d" * 5001),
    create_model("rm-create/prompt", "a-prompt", tags=kv(**{PROMPT_TAG: "true"})),
    create_model("rm-create/prompt-false", "not-a-prompt", tags=kv(**{PROMPT_TAG: "false"})),
    post("rm-create/camelCase-unknown-fields", RM + "create", {"name": "camel", "bogus": 1, "creation_timestamp": 5}),
    post("rm-create/ajax-api", AJAX + RM + "create", {"name": "via-ajax"}),
    post("rm-create/content-type-with-charset", RM + "create", data=json.dumps({"name": "charset"}), headers={"Content-Type": "application/json; charset=utf-8"}),
    # invalid
    create_model("rm-create/duplicate", "alpha"),
    create_model("rm-create/duplicate-of-prompt", "a-prompt"),
    create_model("rm-create/duplicate-as-prompt", "alpha", tags=kv(**{PROMPT_TAG: "true"})),
    post("rm-create/missing-name", RM + "create", {}),
    create_model("rm-create/empty-name", ""),
    create_model("rm-create/blank-name", "   "),
    create_model("rm-create/name-number", 5),
    create_model("rm-create/name-null", None),
    create_model("rm-create/name-list", ["a"]),
    create_model("rm-create/name-with-slash", "a/b"),
    create_model("rm-create/name-with-colon", "a:b"),
    create_model("rm-create/name-dot", "."),
    create_model("rm-create/name-dotdot", ".."),
    create_model("rm-create/name-trailing-space-dot", "a/."),
    create_model("rm-create/tags-object", "tags-object", tags={"a": "b"}),
    create_model("rm-create/tags-string", "tags-string", tags="a=b"),
    create_model("rm-create/tag-bad-key", "tag-bad", tags=kv(**{"bad key!": "v"})),
    create_model("rm-create/tag-key-dotdot", "tag-dotdot", tags=kv(**{"../up": "v"})),
    create_model("rm-create/tag-key-251", "tag-key-251", tags=kv(**{"k" * 251: "v"})),
    create_model("rm-create/tag-value-100001", "tag-value-100001", tags=kv(big="v" * 100001)),
    create_model("rm-create/tag-missing-key", "tag-nokey", tags=[{"value": "v"}]),
    create_model("rm-create/tag-duplicate-keys", "tag-dupes", tags=kv(d="1") + kv(d="2")),
    create_model("rm-create/description-number", "desc-number", description=5),
    post("rm-create/malformed-json", RM + "create", data='{"name": "x",', headers=JSON_CT),
    post("rm-create/no-content-type", RM + "create", data=json.dumps({"name": "noct"})),
    get("rm-create/wrong-method-GET", RM + "create", {"name": "x"}),
]

GET_MODEL = [
    get_model("rm-get/basic", "alpha"),
    get_model("rm-get/tags-and-description", "beta"),
    get_model("rm-get/unicode-name", "ünï 模型 🚀"),
    get_model("rm-get/name-256", "n" * 256),
    get_model("rm-get/tag-missing-value", "tag-novalue"),
    get_model("rm-get/prompt", "a-prompt"),
    get("rm-get/ajax-api", AJAX + RM + "get", {"name": "alpha"}),
    get_model("rm-get/not-found", "nope"),
    get_model("rm-get/case-differs", "ALPHA"),
    get("rm-get/missing-name", RM + "get"),
    get_model("rm-get/empty-name", ""),
    get_model("rm-get/name-with-slash", "a/b"),
    get_model("rm-get/name-dotdot", ".."),
    post("rm-get/wrong-method-POST", RM + "get", {"name": "alpha"}),
]

UPDATE_MODEL = [
    create_model("rm-update-setup/model", "upd"),
    patch("rm-update/description", RM + "update", {"name": "upd", "description": "new words"}),
    get_model("rm-update/get-after", "upd"),
    patch("rm-update/no-description", RM + "update", {"name": "upd"}),
    patch("rm-update/empty-description", RM + "update", {"name": "upd", "description": ""}),
    patch("rm-update/description-5001", RM + "update", {"name": "upd", "description": "d" * 5001}),
    patch("rm-update/ajax-api", AJAX + RM + "update", {"name": "upd", "description": "via ajax"}),
    patch("rm-update/not-found", RM + "update", {"name": "nope", "description": "x"}),
    patch("rm-update/missing-name", RM + "update", {"description": "x"}),
    patch("rm-update/name-number", RM + "update", {"name": 5, "description": "x"}),
    patch("rm-update/description-number", RM + "update", {"name": "upd", "description": 5}),
    patch("rm-update/bad-name", RM + "update", {"name": "a/b", "description": "x"}),
    Step("rm-update/query-string-ignored", "PATCH", API + RM + "update", params={"name": "upd", "description": "q"}),
    post("rm-update/wrong-method-POST", RM + "update", {"name": "upd", "description": "x"}),
    get_model("rm-update/get-final", "upd"),
]

MODEL_TAGS = [
    create_model("rm-tag-setup/model", "tagged"),
    post("rm-tag/set", RM + "set-tag", {"name": "tagged", "key": "color", "value": "red"}),
    post("rm-tag/overwrite", RM + "set-tag", {"name": "tagged", "key": "color", "value": "blue"}),
    post("rm-tag/empty-value", RM + "set-tag", {"name": "tagged", "key": "empty", "value": ""}),
    post("rm-tag/missing-value", RM + "set-tag", {"name": "tagged", "key": "novalue"}),
    post("rm-tag/unicode", RM + "set-tag", {"name": "tagged", "key": "ключ", "value": "значение 🚀"}),
    post("rm-tag/key-punctuation", RM + "set-tag", {"name": "tagged", "key": "a/b.c-d_e f:g", "value": "ok"}),
    post("rm-tag/value-5000", RM + "set-tag", {"name": "tagged", "key": "v5000", "value": "v" * 5000}),
    post("rm-tag/value-5001", RM + "set-tag", {"name": "tagged", "key": "v5001", "value": "v" * 5001}),
    post("rm-tag/ajax-api", AJAX + RM + "set-tag", {"name": "tagged", "key": "via", "value": "ajax"}),
    get_model("rm-tag/get-after-set", "tagged"),
    post("rm-tag/missing-key", RM + "set-tag", {"name": "tagged", "value": "v"}),
    post("rm-tag/empty-key", RM + "set-tag", {"name": "tagged", "key": "", "value": "v"}),
    post("rm-tag/bad-key", RM + "set-tag", {"name": "tagged", "key": "bad key!", "value": "v"}),
    post("rm-tag/key-dotdot", RM + "set-tag", {"name": "tagged", "key": "../up", "value": "v"}),
    post("rm-tag/key-leading-slash", RM + "set-tag", {"name": "tagged", "key": "/abs", "value": "v"}),
    post("rm-tag/key-251", RM + "set-tag", {"name": "tagged", "key": "k" * 251, "value": "v"}),
    post("rm-tag/value-100001", RM + "set-tag", {"name": "tagged", "key": "huge", "value": "v" * 100001}),
    post("rm-tag/value-number", RM + "set-tag", {"name": "tagged", "key": "num", "value": 5}),
    post("rm-tag/key-number", RM + "set-tag", {"name": "tagged", "key": 5, "value": "v"}),
    post("rm-tag/model-not-found", RM + "set-tag", {"name": "nope", "key": "k", "value": "v"}),
    post("rm-tag/missing-name", RM + "set-tag", {"key": "k", "value": "v"}),
    post("rm-tag/bad-name", RM + "set-tag", {"name": "a:b", "key": "k", "value": "v"}),
    get("rm-tag/wrong-method-GET", RM + "set-tag", {"name": "tagged", "key": "k", "value": "v"}),
    # delete-tag (DELETE, JSON body)
    delete("rm-untag/ok", RM + "delete-tag", {"name": "tagged", "key": "color"}),
    delete("rm-untag/again", RM + "delete-tag", {"name": "tagged", "key": "color"}),
    delete("rm-untag/never-set", RM + "delete-tag", {"name": "tagged", "key": "never"}),
    delete("rm-untag/ajax-api", AJAX + RM + "delete-tag", {"name": "tagged", "key": "via"}),
    get_model("rm-untag/get-after", "tagged"),
    delete("rm-untag/missing-key", RM + "delete-tag", {"name": "tagged"}),
    delete("rm-untag/bad-key", RM + "delete-tag", {"name": "tagged", "key": "bad key!"}),
    delete("rm-untag/model-not-found", RM + "delete-tag", {"name": "nope", "key": "k"}),
    delete("rm-untag/missing-name", RM + "delete-tag", {"key": "k"}),
    Step("rm-untag/query-string-only", "DELETE", API + RM + "delete-tag", params={"name": "tagged", "key": "empty"}),
    post("rm-untag/wrong-method-POST", RM + "delete-tag", {"name": "tagged", "key": "empty"}),
]

# Versions of alpha (1-3 from runs, 4 from a URI inside run a's artifacts) and of beta.
CREATE_VERSION = [
    create_version("mv-create/runs-source", "alpha", runs_source("a"), run_id=Run("a")),
    create_version("mv-create/full", "alpha", runs_source("a", "other"), run_id=Run("a"), description="v2", run_link="http://link/2", tags=kv(k="v", team="ml")),
    create_version("mv-create/run-b", "alpha", runs_source("b"), run_id=Run("b")),
    create_version("mv-create/inside-run-artifacts", "alpha", "{value:art-a}/model", run_id=Run("a")),
    create_version("mv-create/artifact-root-itself", "beta", "{value:art-a}", run_id=Run("a")),
    create_version("mv-create/s3-no-run", "beta", "s3://bucket/path/model"),
    create_version("mv-create/s3-with-run", "beta", "s3://bucket/path/model", run_id=Run("b")),
    create_version("mv-create/tag-missing-value", "beta", "s3://bucket/x", tags=[{"key": "k"}]),
    create_version("mv-create/tag-value-5000", "beta", "s3://bucket/x", tags=kv(big="v" * 5000)),
    create_version("mv-create/tag-value-5001", "beta", "s3://bucket/x", tags=kv(big="v" * 5001)),
    create_version("mv-create/source-500", "beta", "s3://b/" + "s" * 493),
    create_version("mv-create/source-501", "beta", "s3://b/" + "s" * 494),
    create_version("mv-create/run-link-empty", "beta", "s3://bucket/x", run_link=""),
    create_version("mv-create/description-unicode", "beta", "s3://bucket/x", description="ünï 🚀"),
    post("mv-create/camelCase-fields", MV + "create", {"name": "beta", "source": runs_source("a"), "runId": Run("a"), "runLink": "rl"}),
    post("mv-create/ajax-api", AJAX + MV + "create", {"name": "beta", "source": "s3://bucket/ajax"}),
    create_version("mv-create/models-source-version", "beta", "models:/alpha/1"),
    create_version("mv-create/models-source-latest", "beta", "models:/alpha/latest"),
    create_version("mv-create/models-source-with-run", "beta", "models:/alpha/1", run_id=Run("a")),
    # a prompt's version: placeholder sources only
    create_version("mv-create/prompt", "a-prompt", "prompt-template", tags=kv(**{PROMPT_TAG: "true", "mlflow.prompt.text": "Hi {{name}}"})),
    create_version("mv-create/prompt-dummy-source", "a-prompt", "dummy-source", tags=kv(**{PROMPT_TAG: "TRUE"})),
    create_version("mv-create/prompt-bad-source", "a-prompt", "s3://bucket/p", tags=kv(**{PROMPT_TAG: "true"})),
    create_version("mv-create/prompt-tag-last-wins", "a-prompt", "s3://bucket/p", tags=kv(**{PROMPT_TAG: "true"}) + kv(**{PROMPT_TAG: "false"})),
    create_version("mv-create/prompt-text-100001", "a-prompt", "prompt-template", tags=kv(**{PROMPT_TAG: "true", "mlflow.prompt.text": "p" * 100001})),
    # sources that violate MLflow's source validation
    create_version("mv-create/runs-source-no-run-id", "alpha", runs_source("a")),
    create_version("mv-create/runs-source-other-run", "alpha", runs_source("a"), run_id=Run("b")),
    create_version("mv-create/runs-source-netloc", "alpha", "runs://host/{run:a}/model", run_id=Run("a")),
    create_version("mv-create/runs-source-traversal", "alpha", runs_source("a", "model/../../x"), run_id=Run("a")),
    create_version("mv-create/artifacts-no-run-id", "alpha", "{value:art-a}/model"),
    create_version("mv-create/artifacts-other-run", "alpha", "{value:art-a}/model", run_id=Run("b")),
    create_version("mv-create/artifacts-traversal", "alpha", "{value:art-a}/../../x", run_id=Run("a")),
    create_version("mv-create/artifacts-encoded-traversal", "alpha", "{value:art-a}/%2E%2E/%2E%2E/x", run_id=Run("a")),
    create_version("mv-create/artifacts-run-not-found", "alpha", "{value:art-a}/model", run_id="0" * 32),
    create_version("mv-create/local-absolute", "alpha", "/tmp/model"),
    create_version("mv-create/local-absolute-with-run", "alpha", "/tmp/model", run_id=Run("a")),
    create_version("mv-create/local-relative", "alpha", "some/relative/model"),
    create_version("mv-create/local-file-uri", "alpha", "file:///tmp/model"),
    create_version("mv-create/local-dotdot", "alpha", "../outside"),
    create_version("mv-create/s3-traversal", "alpha", "s3://bucket/a/../b"),
    create_version("mv-create/s3-encoded-traversal", "alpha", "s3://bucket/a/%2E%2E%2Fb"),
    create_version("mv-create/s3-double-encoded-traversal", "alpha", "s3://bucket/a/%252E%252E/b"),
    create_version("mv-create/s3-nul", "alpha", "s3://bucket/a%00b"),
    create_version("mv-create/mlflow-artifacts-other-root", "alpha", "mlflow-artifacts:/99/" + "0" * 32 + "/artifacts/m", run_id=Run("a")),
    create_version("mv-create/http-artifacts-route", "alpha", "http://host/api/2.0/mlflow-artifacts/artifacts/x", run_id=Run("a")),
    create_version("mv-create/https-host", "alpha", "https://example.com/model"),
    create_version("mv-create/models-not-found", "alpha", "models:/nope/1"),
    create_version("mv-create/models-version-not-found", "alpha", "models:/beta/99"),
    create_version("mv-create/models-netloc", "alpha", "models://host/beta/1"),
    create_version("mv-create/models-prompt", "alpha", "models:/a-prompt/1"),
    create_version("mv-create/models-other-run", "alpha", "models:/alpha/1", run_id=Run("b")),
    create_version("mv-create/models-logged-model-not-found", "alpha", "models:/m-0123456789abcdef0123456789abcdef"),
    create_version("mv-create/models-bad-uri", "alpha", "models:/"),
    create_version("mv-create/model-id-not-found", "alpha", "s3://bucket/x", model_id="m-0123456789abcdef0123456789abcdef"),
    create_version("mv-create/runs-source-with-model-id", "alpha", runs_source("a"), run_id=Run("a"), model_id="m-0123456789abcdef0123456789abcdef"),
    create_version("mv-create/artifacts-with-model-id", "alpha", "{value:art-a}/model", model_id="m-0123456789abcdef0123456789abcdef"),
    create_version("mv-create/models-stage-none", "alpha", "models:/beta/Production"),
    create_version("mv-create/models-alias-not-found", "alpha", "models:/beta@nope"),
    # missing, wrong-typed, unknown
    create_version("mv-create/model-not-found", "nope", "s3://bucket/x"),
    create_version("mv-create/bad-name", "a/b", "s3://bucket/x"),
    post("mv-create/missing-name", MV + "create", {"source": "s3://bucket/x"}),
    post("mv-create/missing-source", MV + "create", {"name": "alpha"}),
    create_version("mv-create/empty-source", "alpha", ""),
    create_version("mv-create/source-number", "alpha", 5),
    create_version("mv-create/run-id-number", "alpha", "s3://bucket/x", run_id=5),
    create_version("mv-create/tags-object", "alpha", "s3://bucket/x", tags={"a": "b"}),
    create_version("mv-create/tag-bad-key", "alpha", "s3://bucket/x", tags=kv(**{"bad key!": "v"})),
    create_version("mv-create/tag-key-251", "alpha", "s3://bucket/x", tags=kv(**{"k" * 251: "v"})),
    create_version("mv-create/tag-value-100001", "alpha", "s3://bucket/x", tags=kv(big="v" * 100001)),
    create_version("mv-create/tag-duplicate-keys", "alpha", "s3://bucket/x", tags=kv(d="1") + kv(d="2")),
    create_version("mv-create/description-number", "alpha", "s3://bucket/x", description=5),
    create_version("mv-create/run-link-number", "alpha", "s3://bucket/x", run_link=5),
    get("mv-create/wrong-method-GET", MV + "create", {"name": "alpha", "source": "s3://bucket/x"}),
]

GET_VERSION = [
    get_version("mv-get/runs-source", "alpha", "1"),
    get_version("mv-get/full", "alpha", "2"),
    get_version("mv-get/inside-run-artifacts", "alpha", "4"),
    get_version("mv-get/from-models-source", "beta", "13"),
    get_version("mv-get/prompt", "a-prompt", "1"),
    get("mv-get/ajax-api", AJAX + MV + "get", {"name": "alpha", "version": "1"}),
    get_version("mv-get/version-not-found", "alpha", "99"),
    get_version("mv-get/version-zero", "alpha", "0"),
    get_version("mv-get/version-negative", "alpha", "-1"),
    get_version("mv-get/version-padded", "alpha", " 1 "),
    get_version("mv-get/version-leading-zero", "alpha", "01"),
    get_version("mv-get/version-abc", "alpha", "abc"),
    get_version("mv-get/version-float", "alpha", "1.0"),
    get_version("mv-get/model-not-found", "nope", "1"),
    get("mv-get/missing-version", MV + "get", {"name": "alpha"}),
    get("mv-get/missing-name", MV + "get", {"version": "1"}),
    get_version("mv-get/bad-name", "a:b", "1"),
    post("mv-get/wrong-method-POST", MV + "get", {"name": "alpha", "version": "1"}),
    # get-download-uri (no request schema)
    get("uri/runs-source", MV + "get-download-uri", {"name": "alpha", "version": "1"}),
    get("uri/inside-run-artifacts", MV + "get-download-uri", {"name": "alpha", "version": "4"}),
    get("uri/s3", MV + "get-download-uri", {"name": "beta", "version": "2"}),
    get("uri/from-models-source", MV + "get-download-uri", {"name": "beta", "version": "13"}),
    get("uri/prompt", MV + "get-download-uri", {"name": "a-prompt", "version": "1"}),
    get("uri/ajax-api", AJAX + MV + "get-download-uri", {"name": "alpha", "version": "2"}),
    get("uri/version-not-found", MV + "get-download-uri", {"name": "alpha", "version": "99"}),
    get("uri/version-abc", MV + "get-download-uri", {"name": "alpha", "version": "abc"}),
    get("uri/model-not-found", MV + "get-download-uri", {"name": "nope", "version": "1"}),
    get("uri/missing-version", MV + "get-download-uri", {"name": "alpha"}),
    get("uri/missing-name", MV + "get-download-uri", {"version": "1"}),
    get("uri/nothing", MV + "get-download-uri"),
]

UPDATE_VERSION = [
    patch("mv-update/description", MV + "update", {"name": "alpha", "version": "1", "description": "first"}),
    patch("mv-update/no-description", MV + "update", {"name": "alpha", "version": "1"}),
    get_version("mv-update/get-after", "alpha", "1"),
    patch("mv-update/empty-description", MV + "update", {"name": "alpha", "version": "2", "description": ""}),
    patch("mv-update/version-as-number", MV + "update", {"name": "alpha", "version": 3, "description": "third"}),
    patch("mv-update/ajax-api", AJAX + MV + "update", {"name": "beta", "version": "1", "description": "ajax"}),
    patch("mv-update/description-5001", MV + "update", {"name": "beta", "version": "1", "description": "d" * 5001}),
    patch("mv-update/version-not-found", MV + "update", {"name": "alpha", "version": "99", "description": "x"}),
    patch("mv-update/version-abc", MV + "update", {"name": "alpha", "version": "abc", "description": "x"}),
    patch("mv-update/model-not-found", MV + "update", {"name": "nope", "version": "1", "description": "x"}),
    patch("mv-update/missing-version", MV + "update", {"name": "alpha", "description": "x"}),
    patch("mv-update/missing-name", MV + "update", {"version": "1", "description": "x"}),
    patch("mv-update/description-number", MV + "update", {"name": "alpha", "version": "1", "description": 5}),
    post("mv-update/wrong-method-POST", MV + "update", {"name": "alpha", "version": "1", "description": "x"}),
]

TRANSITION = [
    post("stage/staging", MV + "transition-stage", {"name": "alpha", "version": "1", "stage": "Staging"}),
    post("stage/production", MV + "transition-stage", {"name": "alpha", "version": "2", "stage": "Production"}),
    post("stage/lowercase", MV + "transition-stage", {"name": "alpha", "version": "3", "stage": "production"}),
    get("stage/latest-all", RM + "get-latest-versions", {"name": "alpha"}),
    get_model("stage/model-shows-latest", "alpha"),
    post("stage/archive-existing", MV + "transition-stage", {"name": "alpha", "version": "4", "stage": "Production", "archive_existing_versions": True}),
    get_version("stage/archived-v2", "alpha", "2"),
    get_version("stage/archived-v3", "alpha", "3"),
    get_version("stage/staging-v1-untouched", "alpha", "1"),
    post("stage/archive-to-staging", MV + "transition-stage", {"name": "alpha", "version": "3", "stage": "Staging", "archive_existing_versions": True}),
    get_version("stage/staging-v1-archived", "alpha", "1"),
    post("stage/archive-string-true", MV + "transition-stage", {"name": "beta", "version": "1", "stage": "Staging", "archive_existing_versions": "true"}),
    post("stage/none", MV + "transition-stage", {"name": "beta", "version": "1", "stage": "None"}),
    post("stage/archived", MV + "transition-stage", {"name": "beta", "version": "2", "stage": "archived"}),
    post("stage/ajax-api", AJAX + MV + "transition-stage", {"name": "beta", "version": "3", "stage": "Staging"}),
    post("stage/archive-when-archiving", MV + "transition-stage", {"name": "beta", "version": "3", "stage": "Archived", "archive_existing_versions": True}),
    post("stage/archive-when-none", MV + "transition-stage", {"name": "beta", "version": "3", "stage": "none", "archive_existing_versions": True}),
    post("stage/bogus", MV + "transition-stage", {"name": "alpha", "version": "1", "stage": "Bogus"}),
    post("stage/deleted-internal", MV + "transition-stage", {"name": "alpha", "version": "1", "stage": "Deleted_Internal"}),
    post("stage/empty", MV + "transition-stage", {"name": "alpha", "version": "1", "stage": ""}),
    post("stage/missing-stage", MV + "transition-stage", {"name": "alpha", "version": "1"}),
    post("stage/stage-number", MV + "transition-stage", {"name": "alpha", "version": "1", "stage": 1}),
    post("stage/archive-not-bool", MV + "transition-stage", {"name": "alpha", "version": "1", "stage": "Staging", "archive_existing_versions": "yes"}),
    post("stage/version-not-found", MV + "transition-stage", {"name": "alpha", "version": "99", "stage": "Staging"}),
    post("stage/version-abc", MV + "transition-stage", {"name": "alpha", "version": "abc", "stage": "Staging"}),
    post("stage/version-abc-archiving", MV + "transition-stage", {"name": "alpha", "version": "abc", "stage": "Staging", "archive_existing_versions": True}),
    post("stage/model-not-found", MV + "transition-stage", {"name": "nope", "version": "1", "stage": "Staging"}),
    post("stage/missing-version", MV + "transition-stage", {"name": "alpha", "stage": "Staging"}),
    post("stage/missing-name", MV + "transition-stage", {"version": "1", "stage": "Staging"}),
    get("stage/wrong-method-GET", MV + "transition-stage", {"name": "alpha", "version": "1", "stage": "Staging"}),
]

LATEST = [
    get("latest/get-all", RM + "get-latest-versions", {"name": "alpha"}),
    get("latest/get-one-stage", RM + "get-latest-versions", [("name", "alpha"), ("stages", "Production")]),
    get("latest/get-two-stages", RM + "get-latest-versions", [("name", "alpha"), ("stages", "Staging"), ("stages", "None")]),
    post("latest/post-all", RM + "get-latest-versions", {"name": "alpha"}),
    post("latest/post-stages", RM + "get-latest-versions", {"name": "alpha", "stages": ["Production", "Archived"]}),
    post("latest/post-stage-lowercase", RM + "get-latest-versions", {"name": "alpha", "stages": ["production"]}),
    post("latest/post-empty-stages", RM + "get-latest-versions", {"name": "alpha", "stages": []}),
    post("latest/stage-without-versions", RM + "get-latest-versions", {"name": "beta", "stages": ["Production"]}),
    post("latest/model-without-versions", RM + "get-latest-versions", {"name": "tagged"}),
    post("latest/ajax-api", AJAX + RM + "get-latest-versions", {"name": "beta"}),
    get("latest/ajax-api-GET", AJAX + RM + "get-latest-versions", {"name": "alpha"}),
    post("latest/bogus-stage", RM + "get-latest-versions", {"name": "alpha", "stages": ["Bogus"]}),
    post("latest/stages-string", RM + "get-latest-versions", {"name": "alpha", "stages": "Production"}),
    post("latest/stages-numbers", RM + "get-latest-versions", {"name": "alpha", "stages": [1]}),
    post("latest/model-not-found", RM + "get-latest-versions", {"name": "nope"}),
    post("latest/missing-name", RM + "get-latest-versions", {}),
    get("latest/get-missing-name", RM + "get-latest-versions"),
    post("latest/bad-name", RM + "get-latest-versions", {"name": "a/b"}),
]

VERSION_TAGS = [
    post("mv-tag/set", MV + "set-tag", {"name": "alpha", "version": "1", "key": "color", "value": "red"}),
    post("mv-tag/overwrite", MV + "set-tag", {"name": "alpha", "version": "1", "key": "color", "value": "blue"}),
    post("mv-tag/empty-value", MV + "set-tag", {"name": "alpha", "version": "1", "key": "empty", "value": ""}),
    post("mv-tag/missing-value", MV + "set-tag", {"name": "alpha", "version": "1", "key": "novalue"}),
    post("mv-tag/unicode", MV + "set-tag", {"name": "alpha", "version": "1", "key": "ключ", "value": "🚀"}),
    post("mv-tag/value-5001", MV + "set-tag", {"name": "alpha", "version": "1", "key": "v5001", "value": "v" * 5001}),
    post("mv-tag/version-as-number", MV + "set-tag", {"name": "alpha", "version": 1, "key": "asnum", "value": "x"}),
    post("mv-tag/ajax-api", AJAX + MV + "set-tag", {"name": "alpha", "version": "1", "key": "via", "value": "ajax"}),
    get_version("mv-tag/get-after-set", "alpha", "1"),
    post("mv-tag/prompt-text-too-long", MV + "set-tag", {"name": "alpha", "version": "1", "key": "mlflow.prompt.text", "value": "p" * 100001}),
    post("mv-tag/value-100001", MV + "set-tag", {"name": "alpha", "version": "1", "key": "huge", "value": "v" * 100001}),
    post("mv-tag/key-251", MV + "set-tag", {"name": "alpha", "version": "1", "key": "k" * 251, "value": "v"}),
    post("mv-tag/bad-key", MV + "set-tag", {"name": "alpha", "version": "1", "key": "bad key!", "value": "v"}),
    post("mv-tag/key-dotdot", MV + "set-tag", {"name": "alpha", "version": "1", "key": "a/../b", "value": "v"}),
    post("mv-tag/missing-key", MV + "set-tag", {"name": "alpha", "version": "1", "value": "v"}),
    post("mv-tag/value-number", MV + "set-tag", {"name": "alpha", "version": "1", "key": "num", "value": 5}),
    post("mv-tag/version-not-found", MV + "set-tag", {"name": "alpha", "version": "99", "key": "k", "value": "v"}),
    post("mv-tag/version-abc", MV + "set-tag", {"name": "alpha", "version": "abc", "key": "k", "value": "v"}),
    post("mv-tag/model-not-found", MV + "set-tag", {"name": "nope", "version": "1", "key": "k", "value": "v"}),
    post("mv-tag/missing-version", MV + "set-tag", {"name": "alpha", "key": "k", "value": "v"}),
    post("mv-tag/missing-name", MV + "set-tag", {"version": "1", "key": "k", "value": "v"}),
    delete("mv-untag/ok", MV + "delete-tag", {"name": "alpha", "version": "1", "key": "color"}),
    delete("mv-untag/again", MV + "delete-tag", {"name": "alpha", "version": "1", "key": "color"}),
    delete("mv-untag/ajax-api", AJAX + MV + "delete-tag", {"name": "alpha", "version": "1", "key": "via"}),
    get_version("mv-untag/get-after", "alpha", "1"),
    delete("mv-untag/bad-key", MV + "delete-tag", {"name": "alpha", "version": "1", "key": "bad key!"}),
    delete("mv-untag/version-not-found", MV + "delete-tag", {"name": "alpha", "version": "99", "key": "k"}),
    delete("mv-untag/version-abc", MV + "delete-tag", {"name": "alpha", "version": "abc", "key": "k"}),
    delete("mv-untag/model-not-found", MV + "delete-tag", {"name": "nope", "version": "1", "key": "k"}),
    delete("mv-untag/missing-key", MV + "delete-tag", {"name": "alpha", "version": "1"}),
    Step("mv-untag/query-string-only", "DELETE", API + MV + "delete-tag", params={"name": "alpha", "version": "1", "key": "empty"}),
]

ALIASES = [
    post("alias/set", RM + "alias", {"name": "alpha", "alias": "champ", "version": "1"}),
    post("alias/set-second", RM + "alias", {"name": "alpha", "alias": "challenger", "version": "2"}),
    post("alias/set-same-version", RM + "alias", {"name": "alpha", "alias": "also-one", "version": "1"}),
    post("alias/unicode", RM + "alias", {"name": "alpha", "alias": "чемпион", "version": "3"}),
    post("alias/version-as-number", RM + "alias", {"name": "beta", "alias": "num", "version": 2}),
    post("alias/ajax-api", AJAX + RM + "alias", {"name": "beta", "alias": "via_ajax", "version": "1"}),
    get("alias/get-by-alias", RM + "alias", {"name": "alpha", "alias": "champ"}),
    get_model("alias/model-shows-aliases", "alpha"),
    get_version("alias/version-shows-aliases", "alpha", "1"),
    post("alias/move", RM + "alias", {"name": "alpha", "alias": "champ", "version": "3"}),
    get("alias/get-after-move", RM + "alias", {"name": "alpha", "alias": "champ"}),
    get_version("alias/old-version-after-move", "alpha", "1"),
    get_version("alias/new-version-after-move", "alpha", "3"),
    get("alias/ajax-api-GET", AJAX + RM + "alias", {"name": "alpha", "alias": "champ"}),
    create_version("alias/models-source-alias", "beta", "models:/alpha@champ"),
    # invalid
    post("alias/latest-reserved", RM + "alias", {"name": "alpha", "alias": "latest", "version": "1"}),
    post("alias/latest-uppercase-reserved", RM + "alias", {"name": "alpha", "alias": "LATEST", "version": "1"}),
    post("alias/version-like-reserved", RM + "alias", {"name": "alpha", "alias": "v1", "version": "1"}),
    post("alias/version-like-uppercase", RM + "alias", {"name": "alpha", "alias": "V12", "version": "1"}),
    post("alias/bad-chars", RM + "alias", {"name": "alpha", "alias": "bad alias!", "version": "1"}),
    post("alias/dot", RM + "alias", {"name": "alpha", "alias": "a.b", "version": "1"}),
    post("alias/empty", RM + "alias", {"name": "alpha", "alias": "", "version": "1"}),
    post("alias/255", RM + "alias", {"name": "alpha", "alias": "a" * 255, "version": "1"}),
    post("alias/256", RM + "alias", {"name": "alpha", "alias": "a" * 256, "version": "1"}),
    post("alias/version-not-found", RM + "alias", {"name": "alpha", "alias": "ghost", "version": "99"}),
    post("alias/version-abc", RM + "alias", {"name": "alpha", "alias": "ghost", "version": "abc"}),
    post("alias/model-not-found", RM + "alias", {"name": "nope", "alias": "ghost", "version": "1"}),
    post("alias/missing-version", RM + "alias", {"name": "alpha", "alias": "ghost"}),
    post("alias/missing-alias", RM + "alias", {"name": "alpha", "version": "1"}),
    post("alias/missing-name", RM + "alias", {"alias": "ghost", "version": "1"}),
    post("alias/alias-number", RM + "alias", {"name": "alpha", "alias": 5, "version": "1"}),
    get("alias/get-unknown", RM + "alias", {"name": "alpha", "alias": "ghost"}),
    get("alias/get-model-not-found", RM + "alias", {"name": "nope", "alias": "champ"}),
    get("alias/get-bad-alias", RM + "alias", {"name": "alpha", "alias": "bad alias!"}),
    get("alias/get-missing-alias", RM + "alias", {"name": "alpha"}),
    get("alias/get-missing-name", RM + "alias", {"alias": "champ"}),
    # delete
    delete("alias/delete", RM + "alias", {"name": "alpha", "alias": "challenger"}),
    delete("alias/delete-again", RM + "alias", {"name": "alpha", "alias": "challenger"}),
    delete("alias/delete-unknown", RM + "alias", {"name": "alpha", "alias": "never"}),
    get("alias/get-deleted", RM + "alias", {"name": "alpha", "alias": "challenger"}),
    delete("alias/delete-model-not-found", RM + "alias", {"name": "nope", "alias": "champ"}),
    delete("alias/delete-bad-alias", RM + "alias", {"name": "alpha", "alias": "bad alias!"}),
    delete("alias/delete-missing-alias", RM + "alias", {"name": "alpha"}),
    delete("alias/delete-ajax-api", AJAX + RM + "alias", {"name": "beta", "alias": "via_ajax"}),
    Step("alias/delete-query-string-only", "DELETE", API + RM + "alias", params={"name": "alpha", "alias": "also-one"}),
    get_model("alias/model-after-delete", "alpha"),
    Step("alias/wrong-method-PATCH", "PATCH", API + RM + "alias", json={"name": "alpha", "alias": "champ", "version": "1"}),
]

# Deleted versions are invisible everywhere, and their numbers are not reused.
DELETE_VERSION = [
    post("mv-delete-setup/alias-on-v3", RM + "alias", {"name": "alpha", "alias": "doomed", "version": "3"}),
    post("mv-delete-setup/tag-on-v3", MV + "set-tag", {"name": "alpha", "version": "3", "key": "doomed", "value": "yes"}),
    delete("mv-delete/ok", MV + "delete", {"name": "alpha", "version": "3"}),
    get_version("mv-delete/get-after", "alpha", "3"),
    delete("mv-delete/again", MV + "delete", {"name": "alpha", "version": "3"}),
    get("mv-delete/alias-gone", RM + "alias", {"name": "alpha", "alias": "doomed"}),
    get("mv-delete/moved-alias-gone", RM + "alias", {"name": "alpha", "alias": "champ"}),
    get_model("mv-delete/model-after", "alpha"),
    get("mv-delete/latest-after", RM + "get-latest-versions", {"name": "alpha"}),
    get("mv-delete/download-uri", MV + "get-download-uri", {"name": "alpha", "version": "3"}),
    patch("mv-delete/update", MV + "update", {"name": "alpha", "version": "3", "description": "x"}),
    post("mv-delete/transition", MV + "transition-stage", {"name": "alpha", "version": "3", "stage": "Staging"}),
    post("mv-delete/set-tag", MV + "set-tag", {"name": "alpha", "version": "3", "key": "k", "value": "v"}),
    delete("mv-delete/delete-tag", MV + "delete-tag", {"name": "alpha", "version": "3", "key": "doomed"}),
    post("mv-delete/set-alias", RM + "alias", {"name": "alpha", "alias": "again", "version": "3"}),
    mv_search("mv-delete/search-by-name", {"filter": "name = 'alpha'"}),
    create_version("mv-delete/models-source", "beta", "models:/alpha/3"),
    create_version("mv-delete/next-number", "alpha", runs_source("a"), run_id=Run("a")),
    delete("mv-delete/not-found", MV + "delete", {"name": "alpha", "version": "99"}),
    delete("mv-delete/version-abc", MV + "delete", {"name": "alpha", "version": "abc"}),
    delete("mv-delete/model-not-found", MV + "delete", {"name": "nope", "version": "1"}),
    delete("mv-delete/missing-version", MV + "delete", {"name": "alpha"}),
    Step("mv-delete/query-string-only", "DELETE", API + MV + "delete", params={"name": "alpha", "version": "1"}),
    delete("mv-delete/ajax-api", AJAX + MV + "delete", {"name": "beta", "version": "3"}),
    get("mv-delete/wrong-method-GET", MV + "delete", {"name": "alpha", "version": "1"}),
]

# Renaming carries the versions, their tags and the aliases along.
RENAME = [
    create_model("rename-setup/model", "old-name", tags=kv(t="1")),
    create_version("rename-setup/v1", "old-name", runs_source("a"), run_id=Run("a"), tags=kv(vt="x")),
    create_version("rename-setup/v2", "old-name", "s3://bucket/r"),
    post("rename-setup/alias", RM + "alias", {"name": "old-name", "alias": "best", "version": "2"}),
    post("rename/ok", RM + "rename", {"name": "old-name", "new_name": "new-name"}),
    get_model("rename/get-new", "new-name"),
    get_model("rename/get-old", "old-name"),
    get_version("rename/version-follows", "new-name", "1"),
    get_version("rename/old-version-gone", "old-name", "1"),
    get("rename/alias-follows", RM + "alias", {"name": "new-name", "alias": "best"}),
    mv_search("rename/search-versions", {"filter": "name = 'new-name'"}),
    mv_search("rename/search-old-versions", {"filter": "name = 'old-name'"}),
    get("rename/download-uri", MV + "get-download-uri", {"name": "new-name", "version": "2"}),
    create_version("rename/next-version", "new-name", "s3://bucket/r3"),
    create_model("rename/old-name-free-again", "old-name"),
    post("rename/ajax-api", AJAX + RM + "rename", {"name": "old-name", "new_name": "old-name-2"}),
    post("rename/to-same-name", RM + "rename", {"name": "new-name", "new_name": "new-name"}),
    post("rename/to-existing", RM + "rename", {"name": "new-name", "new_name": "beta"}),
    post("rename/to-bad-name", RM + "rename", {"name": "new-name", "new_name": "a/b"}),
    post("rename/to-dotdot", RM + "rename", {"name": "new-name", "new_name": ".."}),
    post("rename/to-empty", RM + "rename", {"name": "new-name", "new_name": ""}),
    post("rename/to-blank", RM + "rename", {"name": "new-name", "new_name": "  "}),
    post("rename/to-257", RM + "rename", {"name": "new-name", "new_name": "r" * 257}),
    post("rename/missing-new-name", RM + "rename", {"name": "new-name"}),
    post("rename/missing-name", RM + "rename", {"new_name": "x"}),
    post("rename/new-name-number", RM + "rename", {"name": "new-name", "new_name": 5}),
    post("rename/not-found", RM + "rename", {"name": "nope", "new_name": "nope-2"}),
    post("rename/bad-old-name", RM + "rename", {"name": "a:b", "new_name": "x"}),
    get("rename/wrong-method-GET", RM + "rename", {"name": "new-name", "new_name": "x"}),
]

DELETE_MODEL = [
    create_model("rm-delete-setup/model", "doomed-model", tags=kv(t="1")),
    create_version("rm-delete-setup/version", "doomed-model", "s3://bucket/d", tags=kv(vt="1")),
    post("rm-delete-setup/alias", RM + "alias", {"name": "doomed-model", "alias": "a1", "version": "1"}),
    delete("rm-delete/ok", RM + "delete", {"name": "doomed-model"}),
    get_model("rm-delete/get-after", "doomed-model"),
    get_version("rm-delete/version-gone", "doomed-model", "1"),
    get("rm-delete/alias-gone", RM + "alias", {"name": "doomed-model", "alias": "a1"}),
    mv_search("rm-delete/search-versions", {"filter": "name = 'doomed-model'"}),
    delete("rm-delete/again", RM + "delete", {"name": "doomed-model"}),
    create_model("rm-delete/recreate", "doomed-model"),
    create_version("rm-delete/recreated-numbering", "doomed-model", "s3://bucket/d"),
    delete("rm-delete/ajax-api", AJAX + RM + "delete", {"name": "doomed-model"}),
    delete("rm-delete/missing-name", RM + "delete", {}),
    delete("rm-delete/bad-name", RM + "delete", {"name": "a/b"}),
    Step("rm-delete/query-string-only", "DELETE", API + RM + "delete", params={"name": "beta"}),
    Step("rm-delete/no-body", "DELETE", API + RM + "delete"),
    post("rm-delete/wrong-method-POST", RM + "delete", {"name": "beta"}),
]

# The search set: models s-a .. s-e (one a prompt, tags, versions), searched by name prefix.
SEARCH_SETUP = [
    create_model("search-setup/s-a", "s-a", tags=kv(team="red", tier="1")),
    create_model("search-setup/s-b", "s-b", tags=kv(team="blue")),
    create_model("search-setup/s-c", "s-c", description="see"),
    create_model("search-setup/s-d", "S-D", tags=kv(team="red")),
    create_model("search-setup/s-prompt", "s-prompt", tags=kv(**{PROMPT_TAG: "true", "team": "red"})),
    create_model("search-setup/s-e", "s_e"),
    create_version("search-setup/s-a-1", "s-a", runs_source("a"), run_id=Run("a"), tags=kv(kind="x")),
    create_version("search-setup/s-a-2", "s-a", runs_source("b"), run_id=Run("b"), tags=kv(kind="y")),
    create_version("search-setup/s-a-3", "s-a", "s3://bucket/s-a-3"),
    create_version("search-setup/s-b-1", "s-b", runs_source("b"), run_id=Run("b")),
    create_version("search-setup/s-prompt-1", "s-prompt", "prompt-template", tags=kv(**{PROMPT_TAG: "true"})),
    create_version("search-setup/s-c-1", "s-c", "s3://bucket/s-c-1", tags=kv(kind="x")),
    post("search-setup/s-a-2-prod", MV + "transition-stage", {"name": "s-a", "version": "2", "stage": "Production"}),
    post("search-setup/s-a-alias", RM + "alias", {"name": "s-a", "alias": "top", "version": "2"}),
    delete("search-setup/s-a-3-deleted", MV + "delete", {"name": "s-a", "version": "3"}),
]

S = "name LIKE 's%'"
SI = "name ILIKE 's%'"

SEARCH_MODELS = [
    rm_search("rm-search/prefix", {"filter": S}),
    rm_search("rm-search/prefix-ilike", {"filter": SI}),
    rm_search("rm-search/name-equals", {"filter": "name = 's-a'"}),
    rm_search("rm-search/name-not-equals", {"filter": f"{S} and name != 's-a'"}),
    rm_search("rm-search/name-like-underscore", {"filter": "name LIKE 's_e'"}),
    rm_search("rm-search/name-double-quotes", {"filter": 'name = "s-b"'}),
    rm_search("rm-search/attribute-prefix", {"filter": "attribute.name = 's-c'"}),
    rm_search("rm-search/attributes-prefix-invalid", {"filter": "attributes.name = 's-c'"}),
    rm_search("rm-search/tag", {"filter": f"{SI} and tags.team = 'red'"}),
    rm_search("rm-search/tag-backticks", {"filter": "tags.`team` = 'blue'"}),
    rm_search("rm-search/tag-like", {"filter": "tag.team LIKE 'r%'"}),
    rm_search("rm-search/tag-not-equals", {"filter": f"{SI} and tags.team != 'red'"}),
    rm_search("rm-search/two-tags", {"filter": "tags.team = 'red' and tags.tier = '1'"}),
    rm_search("rm-search/prompts-included", {"filter": f"tags.`{PROMPT_TAG}` = 'true'"}),
    rm_search("rm-search/prompts-not-false", {"filter": f"tags.`{PROMPT_TAG}` != 'false'"}),
    rm_search("rm-search/prompts-explicitly-false", {"filter": f"{S} and tags.`{PROMPT_TAG}` = 'false'"}),
    rm_search("rm-search/prompt-and-tag", {"filter": f"tags.`{PROMPT_TAG}` = 'TRUE' and tags.team = 'red'"}),
    rm_search("rm-search/order-name-desc", {"filter": SI, "order_by": "name DESC"}),
    rm_search("rm-search/order-two-keys", [("filter", SI), ("order_by", "last_updated_timestamp DESC"), ("order_by", "name ASC")]),
    rm_search("rm-search/order-timestamp-alias", {"filter": SI, "order_by": "timestamp ASC"}),
    rm_search("rm-search/order-creation", {"filter": SI, "order_by": "creation_timestamp DESC"}),
    rm_search("rm-search/page-1", {"filter": SI, "max_results": "2"}, capture={"token:rp1": "next_page_token"}),
    rm_search("rm-search/page-2", {"filter": SI, "max_results": "2", "page_token": "{token:rp1}"}, capture={"token:rp2": "next_page_token"}),
    rm_search("rm-search/page-3", {"filter": SI, "max_results": "2", "page_token": "{token:rp2}"}),
    rm_search("rm-search/page-exact", {"filter": SI, "max_results": "5"}),
    rm_search("rm-search/crafted-offset-token", {"filter": SI, "page_token": b64('{"offset": 3}')}),
    rm_search("rm-search/max-results-1000", {"filter": "name = 's-a'", "max_results": "1000"}),
    get("rm-search/ajax-api", AJAX + RM + "search", {"filter": "name = 's-a'"}),
    rm_search("rm-search/no-match", {"filter": "name = 'zzz'"}),
    # invalid
    rm_search("rm-search/max-results-1001", {"max_results": "1001"}),
    rm_search("rm-search/max-results-0", {"filter": SI, "max_results": "0"}),
    rm_search("rm-search/max-results-negative", {"filter": SI, "max_results": "-1"}),
    rm_search("rm-search/max-results-abc", {"max_results": "abc"}),
    rm_search("rm-search/max-results-float", {"max_results": "1.5"}),
    rm_search("rm-search/page-token-garbage", {"filter": SI, "page_token": "!!garbage"}),
    rm_search("rm-search/page-token-not-json", {"filter": SI, "page_token": b64("nope")}),
    rm_search("rm-search/page-token-no-offset", {"filter": SI, "page_token": b64('{"o": 1}')}),
    rm_search("rm-search/page-token-offset-string", {"filter": SI, "page_token": b64('{"offset": "x"}')}),
    rm_search("rm-search/page-token-negative-offset", {"filter": SI, "page_token": b64('{"offset": -1}')}),
    rm_search("rm-search/page-token-list", {"filter": SI, "page_token": b64("[1]")}),
    rm_search("rm-search/page-token-offset-float", {"filter": SI, "page_token": b64('{"offset": 1.5}')}),
    rm_search("rm-search/page-token-offset-list", {"filter": SI, "page_token": b64('{"offset": [1]}')}),
    rm_search("rm-search/page-token-offset-numeric-string", {"filter": SI, "page_token": b64('{"offset": "4"}')}),
    rm_search("rm-search/page-token-non-ascii", {"filter": SI, "page_token": "é"}),
    rm_search("rm-search/filter-garbage", {"filter": "name =="}),
    rm_search("rm-search/filter-in-unquoted", {"filter": "name IN (a, b)"}),
    rm_search("rm-search/filter-in-empty", {"filter": "name IN ()"}),
    rm_search("rm-search/filter-in-numbers", {"filter": "name IN (1, 2)"}),
    rm_search("rm-search/filter-unquoted-value", {"filter": "name = s-a"}),
    rm_search("rm-search/filter-unknown-key", {"filter": "bogus = 'x'"}),
    rm_search("rm-search/filter-run-id", {"filter": "run_id = 'x'"}),
    rm_search("rm-search/filter-bad-comparator", {"filter": "name > 's'"}),
    rm_search("rm-search/filter-tag-bad-comparator", {"filter": "tags.team > 'r'"}),
    rm_search("rm-search/filter-or", {"filter": "name = 's-a' or name = 's-b'"}),
    rm_search("rm-search/filter-number", {"filter": "name = 5"}),
    rm_search("rm-search/filter-in", {"filter": "name IN ('s-a', 's-b')"}),
    rm_search("rm-search/order-bad-key", {"order_by": "bogus"}),
    rm_search("rm-search/order-bad-direction", {"order_by": "name UP"}),
    rm_search("rm-search/order-tag", {"order_by": "tags.team"}),
    rm_search("rm-search/order-unclosed-backtick", {"order_by": "`name"}),
    rm_search("rm-search/order-unclosed-quote", {"order_by": 'name "'}),
    rm_search("rm-search/order-duplicate", [("order_by", "name"), ("order_by", "name DESC")]),
    rm_search("rm-search/order-empty", {"filter": "name = 's-a'", "order_by": ""}),
    post("rm-search/wrong-method-POST", RM + "search", {"filter": SI}),
]

VS = "name LIKE 's%'"

SEARCH_VERSIONS = [
    mv_search("mv-search/by-name", {"filter": "name = 's-a'"}),
    mv_search("mv-search/prefix", {"filter": VS}),
    mv_search("mv-search/ilike", {"filter": "name ILIKE 'S-%'"}),
    mv_search("mv-search/by-run-id", {"filter": f"{VS} and run_id = '{{run:b}}'"}),
    mv_search("mv-search/run-id-in", {"filter": "run_id IN ('{run:a}', '{run:b}') and name LIKE 's%'"}),
    mv_search("mv-search/source-path", {"filter": "source_path = 's3://bucket/s-c-1'"}),
    mv_search("mv-search/version-number", {"filter": "name = 's-a' and version_number > 1"}),
    mv_search("mv-search/version-number-equals", {"filter": "name = 's-a' and version_number = 2"}),
    mv_search("mv-search/tag", {"filter": f"{VS} and tags.kind = 'x'"}),
    mv_search("mv-search/tag-like", {"filter": "tags.kind LIKE '%y'"}),
    mv_search("mv-search/prompts-included", {"filter": f"tags.`{PROMPT_TAG}` = 'true'"}),
    mv_search("mv-search/prompt-by-name", {"filter": "name = 's-prompt'"}),
    mv_search("mv-search/order-version-asc", {"filter": VS, "order_by": "version_number ASC"}),
    mv_search("mv-search/order-name-desc", [("filter", VS), ("order_by", "name DESC"), ("order_by", "version_number ASC")]),
    mv_search("mv-search/order-creation", {"filter": VS, "order_by": "creation_timestamp DESC"}),
    mv_search("mv-search/order-run-id", {"filter": "name = 's-a'", "order_by": "run_id"}),
    mv_search("mv-search/page-1", {"filter": VS, "max_results": "2"}, capture={"token:vp1": "next_page_token"}),
    mv_search("mv-search/page-2", {"filter": VS, "max_results": "2", "page_token": "{token:vp1}"}),
    # page 2 is exactly full: MLflow's LIMIT n + 1 sees no more rows, so no token
    mv_search("mv-search/token-with-other-max-results", {"filter": VS, "max_results": "1", "page_token": "{token:vp1}"}),
    mv_search("mv-search/no-match", {"filter": "name = 'zzz'"}),
    get("mv-search/ajax-api", AJAX + MV + "search", {"filter": "name = 's-b'"}),
    # invalid
    mv_search("mv-search/max-results-200001", {"max_results": "200001"}),
    mv_search("mv-search/max-results-0", {"filter": VS, "max_results": "0"}),
    mv_search("mv-search/max-results-negative", {"filter": VS, "max_results": "-3"}),
    mv_search("mv-search/max-results-abc", {"max_results": "abc"}),
    mv_search("mv-search/page-token-garbage", {"filter": VS, "page_token": "!!garbage"}),
    mv_search("mv-search/page-token-negative-offset", {"filter": VS, "page_token": b64('{"offset": -1}')}),
    mv_search("mv-search/page-token-list", {"filter": VS, "page_token": b64("[1]")}),
    mv_search("mv-search/page-token-offset-list", {"filter": VS, "page_token": b64('{"offset": [1]}')}),
    mv_search("mv-search/page-token-non-ascii", {"filter": VS, "page_token": "é"}),
    mv_search("mv-search/filter-garbage", {"filter": "name =="}),
    mv_search("mv-search/filter-is-null", {"filter": "name IS NULL"}),
    mv_search("mv-search/filter-version-float", {"filter": "version_number > 1.5"}),
    mv_search("mv-search/filter-unknown-key", {"filter": "bogus = 'x'"}),
    mv_search("mv-search/filter-stage", {"filter": "current_stage = 'Production'"}),
    mv_search("mv-search/filter-version-string", {"filter": "version_number = 'abc'"}),
    mv_search("mv-search/filter-version-like", {"filter": "version_number LIKE '1'"}),
    mv_search("mv-search/filter-or", {"filter": "name = 's-a' OR name = 's-b'"}),
    mv_search("mv-search/filter-run-id-in-unquoted", {"filter": "run_id IN (a, b)"}),
    mv_search("mv-search/order-bad-key", {"order_by": "bogus"}),
    mv_search("mv-search/order-unclosed-backtick", {"order_by": "`name"}),
    mv_search("mv-search/order-duplicate", [("order_by", "version_number"), ("order_by", "version_number DESC")]),
    mv_search("mv-search/order-bad-direction", {"order_by": "name SIDEWAYS"}),
    post("mv-search/wrong-method-POST", MV + "search", {"filter": VS}),
]

FINAL = [
    rm_search("final/all-models", {"max_results": "1000"}),
    rm_search("final/all-models-and-prompts", {"filter": f"tags.`{PROMPT_TAG}` = 'true'", "max_results": "1000"}),
    mv_search("final/all-versions", {"max_results": "1000"}),
]

STEPS: list[Step] = (
    SETUP + CREATE_MODEL + GET_MODEL + UPDATE_MODEL + MODEL_TAGS + CREATE_VERSION + GET_VERSION + UPDATE_VERSION
    + TRANSITION + LATEST + VERSION_TAGS + ALIASES + DELETE_VERSION + RENAME + DELETE_MODEL + SEARCH_SETUP
    + SEARCH_MODELS + SEARCH_VERSIONS + FINAL
)


# Deliberate differences: step name -> (reason, dialects). Each is a strict xfail, so a step that
# starts to match fails until it is taken off this list. docs/differences.md lists them.
KNOWN_DIFFERENCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "stage/version-abc-archiving": (
        "A database error raised while running a query carries PostgreSQL's first line only: MLflow's "
        "message also has the LINE/caret excerpt and SQLAlchemy's [SQL: ...] trailer",
        ("postgres",),
    ),
}


SUITE = Suite(
    "registry",
    STEPS,
    mode="runs",
    known_differences=KNOWN_DIFFERENCES,
    # Distinct millisecond timestamps after every write, so orderings by time agree.
    sleep_after=("/create", "/rename", "/update", "/delete", "/transition-stage", "/set-tag", "/delete-tag", "/alias"),
    # Searches and latest versions depend on everything written before: with -k, replay it all.
    replay_all_earlier=True,
)


@pytest.fixture(scope="module")
def states(server_pair):
    return SUITE.new_states(server_pair)


@pytest.mark.parametrize("step", SUITE.params())
def test_step(step: Step, states, server_pair, request):
    SUITE.check(step, states, server_pair, request)
