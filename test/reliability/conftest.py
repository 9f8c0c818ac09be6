"""Fixtures for the reliability suite: servers and fresh PostgreSQL databases from the parity
suite's test/parity/servers.py (mlflow-bun is $MLFLOW_BUN_BINARY, else the sources through bun).

Run from the repository root: .venv/bin/python -m pytest test/reliability -q
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.pop("MLFLOW_TRACKING_URI", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity"))

import pytest  # noqa: E402

import servers  # noqa: E402


@dataclass
class Trio:
    """MLflow's Python server and two mlflow-bun processes on ONE fresh PostgreSQL database."""

    db: servers.PgDatabase
    python: servers.Server
    buns: list[servers.Server]

    @property
    def all(self) -> list[servers.Server]:
        return [self.python, *self.buns]


@pytest.fixture(scope="module")
def pg_trio(tmp_path_factory):
    why = servers.postgres_available()
    if why:
        pytest.fail(f"{why} (set MLFLOW_BUN_PG_URL to an admin postgres:// URL)", pytrace=False)
    db = servers.PgDatabase.create(prefix="mlflow_bun_reliability")
    started: list[servers.Server] = []
    try:
        workdir = tmp_path_factory.mktemp("trio")
        # Python first: it runs MLflow's migrations on the empty database; mlflow-bun then finds
        # MLflow's schema at its head.
        # Its pool sized for the load: with SQLAlchemy's default (5 + 10 overflow) MLflow's own
        # server answers 400 "QueuePool limit ... reached" to some of 64 concurrent clients.
        pool = {"MLFLOW_SQLALCHEMYSTORE_POOL_SIZE": "10", "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW": "50"}
        started.append(servers.start_python(db.python_uri, workdir / "python", extra_env=pool))
        for i in range(2):
            started.append(servers.start_bun(db.uri, workdir / f"bun{i}"))
        yield Trio(db=db, python=started[0], buns=started[1:])
    finally:
        for s in started:
            s.stop()
        db.drop()
