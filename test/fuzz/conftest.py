"""Fixtures for the fuzz suites: one mlflow-bun per dialect (SQLite, PostgreSQL) on a fresh
database holding a canary table, and beside it the real MLflow server on its own fresh database
of the same dialect, the oracle for every 5xx and every search answer.

Both servers get the same seed data through the REST API (same names, values, experiment ids;
run ids differ), so a request that does not name a run id is answered from equal data.

`MLFLOW_BUN_FUZZ=long` (`make fuzz`) raises the example counts; the default is the bounded pass
`make test` runs. Generation is derandomized: the same code fuzzes with the same inputs.
"""

from __future__ import annotations

import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

# MLflow's client is never used here, but servers.py is shared with the parity suite.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity"))

import pytest  # noqa: E402
import requests  # noqa: E402

import servers  # noqa: E402

from fuzzlib import CANARY, CANARY_ROWS  # noqa: E402

DIALECTS = ["sqlite", "postgres"]


@dataclass
class Database:
    dialect: str
    bun_uri: str
    python_uri: str
    sqlite_path: Path | None = None
    pg: servers.PgDatabase | None = None

    def connect(self):
        if self.sqlite_path is not None:
            return sqlite3.connect(self.sqlite_path)
        import psycopg2

        return psycopg2.connect(self.pg.uri.replace("postgresql://", "postgres://", 1))

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
            return rows
        finally:
            conn.close()

    def plant_canary(self) -> None:
        self.execute(f"CREATE TABLE {CANARY} (id INTEGER PRIMARY KEY, note VARCHAR(200))")
        for row in CANARY_ROWS:
            self.execute(f"INSERT INTO {CANARY} (id, note) VALUES (%s, %s)".replace("%s", "?" if self.sqlite_path else "%s"), row)

    def canary_rows(self) -> list[tuple]:
        return [tuple(r) for r in self.execute(f"SELECT id, note FROM {CANARY} ORDER BY id")]

    def drop(self) -> None:
        if self.pg is not None:
            self.pg.drop()


def new_database(dialect: str, workdir: Path, name: str) -> Database:
    if dialect == "sqlite":
        path = workdir / f"{name}.db"
        uri = servers.sqlite_uri(path)
        return Database(dialect, uri, uri, sqlite_path=path)
    pg = servers.PgDatabase.create("mlflow_bun_fuzz")
    return Database(dialect, pg.uri, pg.python_uri, pg=pg)


@dataclass
class Target:
    """mlflow-bun (`bun`, on `db`, which holds the canary) and the real MLflow (`python`)."""

    dialect: str
    bun: servers.Server
    python: servers.Server
    db: Database
    seed: dict = field(default_factory=dict)  # server kind -> names and ids of the seed data


def seed(url: str) -> dict:
    """The same entities on either server: an experiment with a tag, three runs with params,
    metrics and tags, a registered model with a tag, an alias and two versions."""
    s = requests.Session()

    def call(method: str, path: str, body: dict) -> dict:
        r = s.request(method, f"{url}/api/2.0/mlflow/{path}", json=body) if method == "POST" else s.get(f"{url}/api/2.0/mlflow/{path}", params=body)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    exp = call("POST", "experiments/create", {"name": "fuzz-seed", "tags": [{"key": "team", "value": "fuzz"}]})["experiment_id"]
    runs = []
    for i in range(3):
        run = call("POST", "runs/create", {"experiment_id": exp, "run_name": f"run-{i}", "start_time": 1000 + i, "tags": [{"key": "k", "value": f"v{i}"}]})["run"]["info"]["run_id"]
        call("POST", "runs/log-batch", {
            "run_id": run,
            "params": [{"key": "p", "value": str(i)}],
            "metrics": [{"key": "m", "value": i * 1.5, "timestamp": 2000 + i, "step": i}],
        })
        runs.append(run)
    call("POST", "registered-models/create", {"name": "fuzz-model", "tags": [{"key": "team", "value": "fuzz"}], "description": "seed"})
    for run in runs[:2]:
        call("POST", "model-versions/create", {"name": "fuzz-model", "source": f"runs:/{run}/model", "run_id": run})
    call("POST", "registered-models/alias", {"name": "fuzz-model", "alias": "champion", "version": "1"})
    return {"experiment_id": exp, "run_ids": runs, "model": "fuzz-model"}


_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fuzz-servers")


@pytest.fixture(scope="session", params=DIALECTS)
def target(request, tmp_path_factory):
    dialect = request.param
    if dialect == "postgres":
        why = servers.postgres_available()
        if why:
            pytest.fail(f"{why} (set MLFLOW_BUN_PG_URL to an admin postgres:// URL)", pytrace=False)
    workdir = tmp_path_factory.mktemp(f"fuzz-{dialect}")
    bun_db = new_database(dialect, workdir, "bun")
    python_db = new_database(dialect, workdir, "python")
    # MLflow's server takes seconds to start: start both at once.
    python_future = _EXECUTOR.submit(servers.start_python, python_db.python_uri, workdir / "python")
    bun = python = None
    try:
        bun = servers.start_bun(bun_db.bun_uri, workdir / "bun")
        python = python_future.result()
        # The canary goes in once mlflow-bun has created MLflow's schema, before any fuzzing.
        bun_db.plant_canary()
        t = Target(dialect, bun, python, bun_db)
        t.seed = {"bun": seed(bun.url), "python": seed(python.url)}
        yield t
        assert bun_db.canary_rows() == CANARY_ROWS, "the canary table changed: a payload was executed"
    finally:
        if python is None and not python_future.done():
            python_future.cancel()
        for server in (bun, python):
            if server is not None:
                server.stop()
        if python is None and python_future.done() and python_future.exception() is None:
            python_future.result().stop()
        bun_db.drop()
        python_db.drop()


@pytest.fixture(scope="session")
def schema_target(target, tmp_path_factory):
    """A second mlflow-bun of the same dialect for the schema-driven fuzzing, whose writes
    (experiments, runs, models it creates at random) must not change what `target`'s searches
    compare; it has its own canary. The real MLflow server is `target`'s (it only replays)."""
    workdir = tmp_path_factory.mktemp(f"schema-{target.dialect}")
    db = new_database(target.dialect, workdir, "bun")
    bun = None
    try:
        bun = servers.start_bun(db.bun_uri, workdir / "bun")
        db.plant_canary()
        t = Target(target.dialect, bun, target.python, db)
        t.seed = {"bun": seed(bun.url), "python": target.seed["python"]}
        yield t
        assert db.canary_rows() == CANARY_ROWS, "the canary table changed: a request was executed as SQL"
    finally:
        if bun is not None:
            bun.stop()
        db.drop()
