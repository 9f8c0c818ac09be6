"""Fixtures for the parity suite: mlflow-bun (and, for the differential test, the real MLflow
server) on fresh databases, SQLite and PostgreSQL.

`bun_server` (the client tests): each test module gets its own mlflow-bun on a fresh database
(module scope), stopped and its PostgreSQL database dropped when the module is done.
`server_pair` / `shared_pair` (the differential and shared-database tests): MLflow's Python server
is slow to start, so these come from a session-wide pool that starts them in the background as
soon as the tests are collected; all are stopped, and their databases dropped, when the session
ends.
"""

from __future__ import annotations

import atexit
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

import pool  # noqa: E402
import servers  # noqa: E402
from pool import Backend  # noqa: E402

DIALECTS = ["sqlite", "postgres"]


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
    """Two servers of one dialect: `python` (the real MLflow) and `bun` (mlflow-bun, or a second
    real MLflow server with MLFLOW_BUN_PARITY_TARGET=python)."""

    def __init__(self, dialect: str, python: servers.Server, bun: servers.Server, shared_db: bool = False):
        self.dialect = dialect
        self.python = python
        self.bun = bun
        self.shared_db = shared_db


# The differential pairs: SQLite with the default artifact root (mlflow-artifacts:/), PostgreSQL
# with a relative local --default-artifact-root, so both ways of rooting artifacts are compared.
PAIR_ARTIFACT_ROOTS = {"sqlite": None, "postgres": "./artifact-root"}


def _target_is_python() -> bool:
    return os.environ.get("MLFLOW_BUN_PARITY_TARGET", "bun") == "python"


class ParityPool(pool.ServerPool):
    """The servers that cost seconds to start (MLflow's Python server takes 6-10 s), started in
    the background, two at a time, as soon as the session knows which its tests need (see
    pytest_collection_finish), and all stopped, their databases dropped, when the session ends.

    * ("pair", dialect): the real MLflow server and mlflow-bun, each on its own fresh database —
      the differential tests' pair, shared by the test_differential*.py modules
      (each creates what it compares; a step's ids are named after the step, not numbered, so
      what the other module left behind changes nothing that is compared);
    * ("shared", dialect): the real MLflow server and mlflow-bun on ONE fresh database
      (test_shared_database.py).
    """

    name = "parity"

    def _start(self, key: tuple) -> Pair:
        kind, dialect = key
        if dialect == "postgres" and servers.postgres_available():
            raise RuntimeError(servers.postgres_available())
        workdir = self._workdir(key)
        second = servers.start_python if _target_is_python() else servers.start_bun
        if kind == "pair":
            root = PAIR_ARTIFACT_ROOTS[dialect]
            py_backend = self._backend(dialect, workdir, "python")
            bun_backend = self._backend(dialect, workdir, "bun")
            bun_uri = bun_backend.python_uri if _target_is_python() else bun_backend.bun_uri
            # mlflow-bun starts in a fraction of a second: beside Python, not after it.
            errors: list[BaseException] = []
            python = bun = None
            with ThreadPoolExecutor(max_workers=1) as side:
                fbun = side.submit(second, bun_uri, workdir / "bun", root)
                try:
                    python = self._track(servers.start_python(py_backend.python_uri, workdir / "python", root))
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
                try:
                    bun = self._track(fbun.result())
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
            if errors:
                raise errors[0]
            return Pair(dialect, python, bun)
        if kind == "shared":
            backend = self._backend(dialect, workdir, "shared")
            # Python first: on a fresh database it runs MLflow's migrations; mlflow-bun then finds
            # MLflow's schema at its head and serves it as it is.
            python = self._track(servers.start_python(backend.python_uri, workdir / "python"))
            bun_uri = backend.python_uri if _target_is_python() else backend.bun_uri
            bun = self._track(second(bun_uri, workdir / "bun"))
            return Pair(dialect, python, bun, shared_db=True)
        raise ValueError(key)


POOL = ParityPool()
atexit.register(POOL.close)  # a last resort when the session is interrupted

# Fixture name -> pool kind: which pooled servers an item needs.
_POOLED_FIXTURES = {"server_pair": "pair", "shared_pair": "shared"}


def pytest_collection_finish(session):
    """Start the pooled servers the selected tests need, in the order they will need them."""
    try:
        POOL.set_base(session.config._tmp_path_factory.mktemp("pooled-servers"))
    except Exception:  # noqa: BLE001 - a private pytest API; fall back to a temp dir
        pass
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        for fixture, kind in _POOLED_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()) and callspec is not None and fixture in callspec.params:
                POOL.want((kind, callspec.params[fixture]))


def pytest_sessionfinish(session, exitstatus):
    POOL.close()


@pytest.fixture(scope="session", params=DIALECTS)
def server_pair(request):
    """The real MLflow server and mlflow-bun, each on its own fresh database of one dialect
    (shared by the differential modules of the session)."""
    _require_postgres(request.param)
    return POOL.get(("pair", request.param))


@pytest.fixture(scope="session", params=DIALECTS)
def shared_pair(request):
    """The real MLflow server and mlflow-bun serving ONE fresh database of one dialect."""
    _require_postgres(request.param)
    return POOL.get(("shared", request.param))


# ------------------------------------------------------------------ differential report


def pytest_configure(config):
    config._parity_mismatches = []  # filled by differential.report_mismatch


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
