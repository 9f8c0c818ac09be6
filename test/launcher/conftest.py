"""Fixtures for the launcher suite: the wheel `make wheel` builds, installed into a venv of its
own (see install.py); fresh SQLite and PostgreSQL databases for `mlflow-bun server` to run on.

Run from the repository root: .venv/bin/python -m pytest test/launcher -q
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The MLflow client retries 5xx answers with back-off; a failing test should fail, not wait.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "30"
os.environ.pop("MLFLOW_TRACKING_URI", None)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "parity"))  # servers.py: PostgreSQL databases, free ports

import pytest  # noqa: E402

import install  # noqa: E402
import servers  # noqa: E402
from launchers import Launcher  # noqa: E402


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    """The venv's bin/ with the current wheel installed: `mlflow-bun`, `python -m mlflow_bun`."""
    return install.install(install.wheel())


@pytest.fixture
def pg_database():
    why = servers.postgres_available()
    if why:
        pytest.fail(f"{why} (set MLFLOW_BUN_PG_URL to an admin postgres:// URL)", pytrace=False)
    db = servers.PgDatabase.create(prefix="mlflow_bun_launcher")
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture
def sqlite_launcher(bin_dir, tmp_path):
    """`mlflow-bun server` on a fresh SQLite file, serving."""
    launcher = Launcher.start(bin_dir, ["--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"], tmp_path / "cwd", servers.free_port())
    try:
        yield launcher.wait_ready()
    finally:
        launcher.stop()
