"""The real MLflow client logging and reading artifacts through mlflow-bun (tracking URI http://,
default artifact root mlflow-artifacts:/, so every byte goes through the mlflow-artifacts API):
log_artifact, log_artifacts with nested folders, log_text, log_dict, list_artifacts,
download_artifacts, and the proxied multipart upload (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD),
which falls back to a plain upload on a local destination and goes to S3 in parts on an S3
destination (moto in server mode).

The expectations are MLflow's own behaviour: run with MLFLOW_BUN_PARITY_TARGET=python to check
them against the real MLflow server.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow.entities import FileInfo
from mlflow.tracking import MlflowClient

import servers


@pytest.fixture(scope="module")
def client(bun_server) -> MlflowClient:
    return MlflowClient(tracking_uri=bun_server.url)


@pytest.fixture
def run_id(client) -> str:
    exp = client.create_experiment(f"art-{uuid.uuid4().hex[:10]}")
    return client.create_run(exp).info.run_id


# MlflowClient.list_artifacts / download_artifacts with a path go through runs:/ URIs, which
# also look for logged models of that name (logged-models/search, not native: Python's, with
# --python-url). Below a run's root, these tests address its mlflow-artifacts: URI directly,
# which is what those calls end up using for the run's own files.
def listing(client, run_id, path):
    """The entries under `path`, named relative to the run's root as list_artifacts names them."""
    root = client.get_run(run_id).info.artifact_uri
    files = mlflow.artifacts.list_artifacts(artifact_uri=f"{root}/{path}", tracking_uri=client.tracking_uri)
    return [FileInfo(posixpath.join(path, posixpath.basename(f.path)), f.is_dir, f.file_size) for f in files]


def download(client, run_id, path, dst):
    root = client.get_run(run_id).info.artifact_uri
    return mlflow.artifacts.download_artifacts(artifact_uri=f"{root}/{path}", dst_path=str(dst), tracking_uri=client.tracking_uri)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_log_artifact_and_download(client, run_id, tmp_path):
    src = tmp_path / "model.bin"
    src.write_bytes(bytes(range(256)) * 100)
    client.log_artifact(run_id, str(src))
    client.log_artifact(run_id, str(src), artifact_path="sub/dir")
    names = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)]
    assert names == [("model.bin", False, 25600), ("sub", True, None)]
    assert [f.path for f in listing(client, run_id, "sub/dir")] == ["sub/dir/model.bin"]
    out = Path(download(client, run_id, "sub/dir/model.bin", tmp_path / "out"))
    assert out.read_bytes() == src.read_bytes()


def test_log_artifacts_nested_folders(client, run_id, tmp_path):
    src = tmp_path / "src"
    for rel, content in {"a.txt": "a", "d1/b.json": "{}", "d1/d2/c.csv": "x,y\n", "d1/d2/d3/e": ""}.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(content)
    client.log_artifacts(run_id, str(src), artifact_path="data")
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [("data", True)]
    assert [(f.path, f.is_dir) for f in listing(client, run_id, "data")] == [("data/a.txt", False), ("data/d1", True)]
    assert [(f.path, f.is_dir) for f in listing(client, run_id, "data/d1/d2")] == [
        ("data/d1/d2/c.csv", False),
        ("data/d1/d2/d3", True),
    ]
    out = Path(download(client, run_id, "data", tmp_path / "out"))
    assert tree(out) == tree(src)
    whole = Path(client.download_artifacts(run_id, "", str(tmp_path / "whole")))
    assert tree(whole) == {f"data/{k}": v for k, v in tree(src).items()}


def test_log_text_and_dict(bun_server, client, run_id):
    mlflow.set_tracking_uri(bun_server.url)
    try:
        client.log_text(run_id, "hello ✓\n", "notes/hello.txt")
        client.log_dict(run_id, {"a": [1, 2], "b": {"c": None}}, "config.json")
        client.log_dict(run_id, {"k": "v"}, "config.yaml")
        root = client.get_run(run_id).info.artifact_uri
        assert mlflow.artifacts.load_text(f"{root}/notes/hello.txt") == "hello ✓\n"
        assert mlflow.artifacts.load_dict(f"{root}/config.json") == {"a": [1, 2], "b": {"c": None}}
        assert mlflow.artifacts.load_dict(f"{root}/config.yaml") == {"k": "v"}
    finally:
        mlflow.set_tracking_uri(None)


def test_fluent_logging_and_download(bun_server, tmp_path):
    mlflow.set_tracking_uri(bun_server.url)
    try:
        with mlflow.start_run() as run:
            mlflow.log_text("x", "t.txt")
            mlflow.log_dict({"n": 1}, "d/n.json")
        out = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path))
        assert tree(Path(out)) == {"t.txt": b"x", "d/n.json": json.dumps({"n": 1}, indent=2).encode()}
    finally:
        mlflow.set_tracking_uri(None)


def test_missing_artifact_errors(client, run_id, tmp_path):
    with pytest.raises(Exception):  # noqa: B017 - MLflow's own error type varies by path
        download(client, run_id, "nope.txt", tmp_path)
    assert listing(client, run_id, "nope") == []


def test_proxy_multipart_upload_falls_back_on_a_local_destination(client, run_id, tmp_path, monkeypatch):
    # A local destination has no multipart upload: the server answers 501 and the client uploads in one PUT.
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1024")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", "1024")
    src = tmp_path / "large.bin"
    src.write_bytes(os.urandom(10_000))
    client.log_artifact(run_id, str(src))
    out = Path(download(client, run_id, "large.bin", tmp_path / "out"))
    assert out.read_bytes() == src.read_bytes()


# --------------------------------------------------------------------------- S3 (moto)

MOTO = servers.VENV_BIN / "moto_server"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """moto in server mode, and the server under test with an S3 --artifacts-destination."""
    if not MOTO.exists():
        pytest.skip(f"{MOTO} not found: pip install 'moto[server]' into .venv")
    import boto3

    workdir = tmp_path_factory.mktemp("s3-artifacts")
    port = servers.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{endpoint}/moto-api/", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or moto.poll() is not None:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.1)
        s3 = boto3.client("s3", endpoint_url=endpoint, **{k.lower(): v for k, v in S3_ENV.items() if k != "AWS_DEFAULT_REGION"}, region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        env = {**servers._base_env(), **S3_ENV, "MLFLOW_S3_ENDPOINT_URL": endpoint}
        for k, v in {**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": endpoint}.items():
            os.environ.setdefault(k, v)  # the client's own boto3 (part uploads use presigned URLs only)
        db = servers.sqlite_uri(workdir / "mlflow.db")
        sport = servers.free_port()
        common = ["--host", "127.0.0.1", "--port", str(sport), "--backend-store-uri", db, "--artifacts-destination", "s3://artifacts/dest"]
        if os.environ.get("MLFLOW_BUN_PARITY_TARGET", "bun") == "python":
            env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
            env["PATH"] = f"{servers.VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
            cmd = [str(servers.VENV_BIN / "mlflow"), "server", *common, "--workers", "1"]
            server = servers._spawn("python", cmd, env, workdir, sport, db, servers.PYTHON_START_TIMEOUT)
        else:
            server = servers._spawn("bun", [*servers.bun_command(), *common], env, workdir, sport, db, servers.BUN_START_TIMEOUT)
        try:
            yield server, s3
        finally:
            server.stop()
    finally:
        os.killpg(moto.pid, 15)
        moto.wait(timeout=10)


def test_s3_proxy_multipart_upload(s3_server, tmp_path, monkeypatch):
    server, s3 = s3_server
    client = MlflowClient(tracking_uri=server.url)
    run = client.create_run(client.create_experiment("s3-mpu"))
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * 1024 * 1024))  # S3's smallest part
    src = tmp_path / "weights.bin"
    src.write_bytes(os.urandom(11 * 1024 * 1024))
    client.log_artifact(run.info.run_id, str(src), artifact_path="model")
    key = f"dest/{run.info.experiment_id}/{run.info.run_id}/artifacts/model/weights.bin"
    head = s3.head_object(Bucket="artifacts", Key=key)
    assert head["ContentLength"] == src.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")  # assembled from 3 parts: a multipart upload
    out = Path(download(client, run.info.run_id, "model/weights.bin", tmp_path / "out"))
    assert out.read_bytes() == src.read_bytes()
    assert [(f.path, f.file_size) for f in listing(client, run.info.run_id, "model")] == [("model/weights.bin", src.stat().st_size)]


def test_s3_plain_upload_and_nested_listing(s3_server, tmp_path):
    server, s3 = s3_server
    client = MlflowClient(tracking_uri=server.url)
    run = client.create_run(client.create_experiment("s3-plain"))
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "top.txt").write_text("top")
    (src / "a" / "b" / "deep.txt").write_text("deep")
    client.log_artifacts(run.info.run_id, str(src))
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run.info.run_id)] == [("a", True), ("top.txt", False)]
    out = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "out")))
    assert tree(out) == tree(src)
    shutil.rmtree(tmp_path / "out")
