"""Servers started in the background as soon as a pytest session knows which it needs, and all
stopped (their PostgreSQL databases dropped) when it ends: MLflow's Python server takes seconds
to start, so the suites that need it (test/parity, test/security) start their pairs early and
side by side. A suite subclasses ServerPool with its own `_start(key)`.
"""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import servers

PYTHON_START_WAIT = 300


class Backend:
    """A fresh, empty database of one dialect; `bun_uri` and `python_uri` name the same one."""

    def __init__(self, dialect: str, workdir: Path, name: str = "mlflow", pg_prefix: str | None = None):
        self.dialect = dialect
        self.pg: servers.PgDatabase | None = None
        if dialect == "sqlite":
            self.bun_uri = self.python_uri = servers.sqlite_uri(workdir / f"{name}.db")
        else:
            self.pg = servers.PgDatabase.create(pg_prefix) if pg_prefix else servers.PgDatabase.create()
            self.bun_uri, self.python_uri = self.pg.uri, self.pg.python_uri

    def drop(self) -> None:
        if self.pg is not None:
            self.pg.drop()


class ServerPool:
    workers = 2
    name = "servers"

    def __init__(self):
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"{self.name}-pool")
        self._futures: dict[tuple, Future] = {}
        self._lock = threading.Lock()
        self._started: list[servers.Server] = []
        self._backends: list[Backend] = []
        self._base: Path | None = None
        self._closed = False

    def set_base(self, base: Path) -> None:
        self._base = base

    def want(self, key: tuple) -> None:
        with self._lock:
            if key in self._futures or self._closed:
                return
            self._futures[key] = self._executor.submit(self._start, key)

    def wanted(self) -> list[tuple]:
        with self._lock:
            return list(self._futures)

    def get(self, key: tuple) -> Any:
        self.want(key)
        return self._futures[key].result()

    def _start(self, key: tuple) -> Any:
        raise NotImplementedError

    def _workdir(self, key: tuple) -> Path:
        with self._lock:
            if self._base is None:
                self._base = Path(tempfile.mkdtemp(prefix=f"mlflow-bun-{self.name}-"))
        d = self._base / "-".join(key)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _track(self, server: servers.Server) -> servers.Server:
        with self._lock:
            self._started.append(server)
        return server

    def _backend(self, dialect: str, workdir: Path, name: str = "mlflow", pg_prefix: str | None = None) -> Backend:
        backend = Backend(dialect, workdir, name, pg_prefix)
        with self._lock:
            self._backends.append(backend)
        return backend

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            futures = list(self._futures.values())
        for f in futures:
            try:
                f.result(timeout=PYTHON_START_WAIT)
            except Exception:  # noqa: BLE001 - reported by the fixture that needed it
                pass
        self._executor.shutdown(wait=True)
        for s in self._started:
            try:
                s.stop()
            except Exception:  # noqa: BLE001
                pass
        for b in self._backends:
            try:
                b.drop()
            except Exception:  # noqa: BLE001
                pass
