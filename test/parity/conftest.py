"""Fixtures for the parity suite: mlflow-bun (and, for the differential test, the real MLflow
server) on fresh databases, SQLite and PostgreSQL.

Each test module gets its own servers and databases (module scope); they are stopped, and the
PostgreSQL databases dropped, when the module is done.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The MLflow client retries 5xx answers with back-off (INVALID_STATE is a 500): a test expecting
# an error would wait minutes. Set before mlflow is imported anywhere.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "30"
os.environ.pop("MLFLOW_TRACKING_URI", None)

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402

import servers  # noqa: E402

DIALECTS = ["sqlite", "postgres"]


class Backend:
    """A fresh, empty database of one dialect; `bun_uri` and `python_uri` name the same one."""

    def __init__(self, dialect: str, workdir: Path, name: str):
        self.dialect = dialect
        self.pg: servers.PgDatabase | None = None
        if dialect == "sqlite":
            self.bun_uri = self.python_uri = servers.sqlite_uri(workdir / f"{name}.db")
        else:
            self.pg = servers.PgDatabase.create()
            self.bun_uri, self.python_uri = self.pg.uri, self.pg.python_uri

    def drop(self) -> None:
        if self.pg is not None:
            self.pg.drop()


def _require_postgres(dialect: str) -> None:
    if dialect == "postgres":
        why = servers.postgres_available()
        if why:
            pytest.fail(f"{why} (set MLFLOW_BUN_PG_URL to an admin postgres:// URL)", pytrace=False)


@pytest.fixture(scope="module", params=DIALECTS)
def bun_server(request, tmp_path_factory):
    """mlflow-bun on a fresh database. With MLFLOW_BUN_PARITY_TARGET=python the same tests run
    against the real MLflow server instead: that is how the expectations are checked."""
    dialect = request.param
    _require_postgres(dialect)
    workdir = tmp_path_factory.mktemp(f"{request.module.__name__}-{dialect}")
    target = os.environ.get("MLFLOW_BUN_PARITY_TARGET", "bun")
    backend = Backend(dialect, workdir, target)
    try:
        if target == "python":
            server = servers.start_python(backend.python_uri, workdir / "python")
        else:
            server = servers.start_bun(backend.bun_uri, workdir / "bun")
        server.extra["dialect"] = dialect
        try:
            yield server
        finally:
            server.stop()
    finally:
        backend.drop()


class Pair:
    def __init__(self, dialect: str, python: servers.Server, bun: servers.Server):
        self.dialect = dialect
        self.python = python
        self.bun = bun


# The differential pairs: SQLite with the default artifact root (mlflow-artifacts:/), PostgreSQL
# with a relative local --default-artifact-root, so both ways of rooting artifacts are compared.
PAIR_ARTIFACT_ROOTS = {"sqlite": None, "postgres": "./artifact-root"}


@pytest.fixture(scope="module", params=DIALECTS)
def server_pair(request, tmp_path_factory):
    """The real MLflow server and mlflow-bun, each on its own fresh database of one dialect,
    started together (Python takes several seconds)."""
    dialect = request.param
    _require_postgres(dialect)
    workdir = tmp_path_factory.mktemp(f"{request.module.__name__}-{dialect}")
    root = PAIR_ARTIFACT_ROOTS[dialect]
    py_backend = bun_backend = None
    started: list[servers.Server] = []
    try:
        py_backend = Backend(dialect, workdir, "python")
        bun_backend = Backend(dialect, workdir, "bun")
        with ThreadPoolExecutor(max_workers=2) as pool:
            fpy = pool.submit(servers.start_python, py_backend.python_uri, workdir / "python", root)
            fbun = pool.submit(servers.start_bun, bun_backend.bun_uri, workdir / "bun", root)
            errors = []
            for f in (fpy, fbun):
                try:
                    started.append(f.result())
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
            if errors:
                raise errors[0]
        python, bun = started
        yield Pair(dialect, python, bun)
    finally:
        for s in started:
            s.stop()
        for b in (py_backend, bun_backend):
            if b is not None:
                b.drop()


# ------------------------------------------------------------------ differential report


def pytest_configure(config):
    config._parity_mismatches = []  # filled by test_differential


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    mismatches = getattr(config, "_parity_mismatches", [])
    if not mismatches:
        return
    tr = terminalreporter
    tr.section(f"mlflow-bun vs MLflow: {len(mismatches)} differential mismatch(es)")
    for m in mismatches:
        tr.write_line(m["summary"])
    path = os.environ.get("MLFLOW_BUN_PARITY_REPORT")
    if path:
        import json

        Path(path).write_text(json.dumps(mismatches, indent=2, ensure_ascii=False))
        tr.write_line(f"(full report written to {path})")
