"""Webhook delivery: the real `mlflow server` and mlflow-bun on ONE database (so both see the same
webhooks), the same registry writes sent to each in turn, and what a local receiver gets compared:
the same events with byte-identical bodies apart from the timestamp, MLflow's headers, and
signatures that verify with the secret given when the webhook was created through MLflow's REST API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import servers
from conftest import DIALECTS, Backend, _require_postgres

KEY = "kXVDGqk8wqD8lAqmNnTSKPd1dcnUQIRLrt-4GfrGsEk="
SECRET = "s3cret-\u00fc"
ENV = {
    "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
    "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": KEY,
}
EVENTS = [
    "registered_model.created", "model_version.created", "model_version_tag.set", "model_version_tag.deleted",
    "model_version_alias.created", "model_version_alias.deleted", "prompt.created", "prompt_version.created",
    "prompt_tag.set", "prompt_tag.deleted", "prompt_version_tag.set", "prompt_version_tag.deleted",
    "prompt_alias.created", "prompt_alias.deleted",
]
TIMESTAMP = re.compile(r'"timestamp": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?\+00:00)"')


class Receiver:
    """A local HTTP server that records every request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, count: int, timeout: float = 60.0) -> list[dict]:
        """Waits for `count` requests and takes them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    taken, self.requests = self.requests, []
                    return taken
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"expected {count} deliveries, got {len(self.requests)}: {self.requests}")

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module", params=DIALECTS)
def setup(request, tmp_path_factory):
    dialect = request.param
    _require_postgres(dialect)
    workdir = tmp_path_factory.mktemp(f"webhooks-{dialect}")
    backend = Backend(dialect, workdir, "shared")
    receiver = Receiver()
    started = []
    try:
        python = servers.start_python(backend.python_uri, workdir / "python", extra_env=ENV)
        started.append(python)
        if os.environ.get("MLFLOW_BUN_PARITY_TARGET", "bun") == "python":
            bun = servers.start_python(backend.python_uri, workdir / "bun", extra_env=ENV)
        else:
            bun = servers.start_bun(backend.bun_uri, workdir / "bun", extra_env=ENV)
        started.append(bun)
        from mlflow import MlflowClient

        MlflowClient(tracking_uri=python.url).create_webhook(
            name="parity", url=receiver.url, events=EVENTS, secret=SECRET
        )
        yield python, bun, receiver
    finally:
        for server in started:
            server.stop()
        receiver.close()
        backend.drop()


def _call(url: str, method: str, path: str, body: dict, status: int = 200) -> None:
    r = requests.request(method, f"{url}/api/2.0/mlflow/{path}", json=body, timeout=30)
    assert r.status_code == status, (path, r.status_code, r.text)


def scenario(url: str) -> int:
    """Every registry write that delivers, and a few that do not; returns how many deliver."""
    post = lambda path, body, status=200: _call(url, "POST", path, body, status)  # noqa: E731
    delete = lambda path, body: _call(url, "DELETE", path, body)  # noqa: E731
    post("registered-models/create", {"name": "pm", "tags": [{"key": "k", "value": "1"}, {"key": "\u00e9", "value": "\u00fc\n"}, {"key": "k", "value": "2"}]})
    post("model-versions/create", {"name": "pm", "source": "s3://b/pm", "run_id": "run0", "description": "d", "tags": [{"key": "t", "value": "v"}]})
    post("model-versions/create", {"name": "pm", "source": "models:/pm/1"})
    post("model-versions/set-tag", {"name": "pm", "version": "1", "key": "a", "value": "b"})
    delete("model-versions/delete-tag", {"name": "pm", "version": "1", "key": "a"})
    post("registered-models/alias", {"name": "pm", "alias": "champ", "version": "01"})
    delete("registered-models/alias", {"name": "pm", "alias": "champ"})
    post("registered-models/set-tag", {"name": "pm", "key": "x", "value": "y"})  # a model's tag: no event
    post("registered-models/create", {"name": "pm"}, status=400)  # failed: no event
    prompt_tags = [
        {"key": "mlflow.prompt.is_prompt", "value": "TRUE"}, {"key": "_mlflow_prompt_type", "value": "text"},
        {"key": "team", "value": "a"},
    ]
    post("registered-models/create", {"name": "pp \u2603", "description": "a prompt", "tags": prompt_tags})
    post("model-versions/create", {"name": "pp \u2603", "source": "dummy-source", "tags": [
        {"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "mlflow.prompt.text", "value": "Hi {{name}} \U0001f600"},
        {"key": "lang", "value": "en"},
    ]})
    post("registered-models/set-tag", {"name": "pp \u2603", "key": "owner", "value": "me"})
    delete("registered-models/delete-tag", {"name": "pp \u2603", "key": "owner"})
    post("model-versions/set-tag", {"name": "pp \u2603", "version": "1", "key": "q"})
    delete("model-versions/delete-tag", {"name": "pp \u2603", "version": "1", "key": "q"})
    post("registered-models/alias", {"name": "pp \u2603", "alias": "prod", "version": "1"})
    delete("registered-models/alias", {"name": "pp \u2603", "alias": "prod"})
    return 15


def cleanup(url: str) -> None:
    for name in ("pm", "pp \u2603"):
        _call(url, "DELETE", "registered-models/delete", {"name": name})


def _checked(delivery: dict) -> str:
    """Checks headers and signature; returns the body with its timestamp replaced."""
    headers, body = delivery["headers"], delivery["body"].decode("utf-8")
    assert delivery["path"] == "/hook"
    assert headers["content-type"] == "application/json"
    assert uuid.UUID(headers["x-mlflow-delivery-id"]).version == 4
    assert re.fullmatch(r"\d{10}", headers["x-mlflow-timestamp"])
    assert abs(int(headers["x-mlflow-timestamp"]) - time.time()) < 3600
    signed = f"{headers['x-mlflow-delivery-id']}.{headers['x-mlflow-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()).decode()
    assert headers["x-mlflow-signature"] == f"v1,{expected}"
    assert TIMESTAMP.search(body), body
    assert body.isascii()
    json.loads(body)
    return TIMESTAMP.sub('"timestamp": "T"', body)


def test_same_deliveries(setup):
    python, bun, receiver = setup
    expected = sorted(_checked(d) for d in receiver.take(scenario(python.url)))
    cleanup(python.url)
    got = sorted(_checked(d) for d in receiver.take(scenario(bun.url)))
    cleanup(bun.url)
    assert got == expected
    # the shapes themselves, for the record
    assert '{"entity": "model_version", "action": "created", "timestamp": "T", "data": {"name": "pm", "version": "2", "source": "models:/pm/1", "run_id": "run0", "tags": {}, "description": null}}' in got
    assert any('"template": "Hi {{name}} \\ud83d\\ude00"' in b for b in got)
