"""Start and stop the servers the parity tests talk to.

* mlflow-bun: ``node_modules/.bin/bun src/cli.ts`` (or ``$MLFLOW_BUN_BINARY``), never with a
  ``--python-url``, so nothing it answers comes from Python.
* the real MLflow: ``.venv/bin/mlflow server --workers 1`` (job execution off: it only adds
  consumer processes that the experiments API never uses).
* fresh PostgreSQL databases on ``$MLFLOW_BUN_PG_URL`` (an admin URL) or the local default.

Every server runs in its own process group, so stopping it ends its children too (uvicorn's
worker, for the Python server); nothing else is ever signalled.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"

BUN_START_TIMEOUT = 30.0
PYTHON_START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- PostgreSQL


def pg_admin_url() -> str:
    return os.environ.get("MLFLOW_BUN_PG_URL") or DEFAULT_PG_URL


def _with_database(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _admin_connection():
    import psycopg2

    conn = psycopg2.connect(pg_admin_url().replace("postgresql://", "postgres://", 1))
    conn.autocommit = True
    return conn


def postgres_available() -> str | None:
    """None when the admin URL answers, else why not."""
    try:
        _admin_connection().close()
        return None
    except Exception as e:  # noqa: BLE001 - any failure means "not available"
        return f"PostgreSQL at {pg_admin_url()} is not reachable: {e}"


@dataclass
class PgDatabase:
    name: str
    uri: str  # MLflow's spelling: postgresql://

    @property
    def python_uri(self) -> str:
        """For the Python server: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which
        is not installed; psycopg2 is."""
        return self.uri.replace("postgresql://", "postgresql+psycopg2://", 1)

    @classmethod
    def create(cls, prefix: str = "mlflow_bun_parity") -> "PgDatabase":
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        conn = _admin_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        uri = _with_database(pg_admin_url(), name)
        scheme, rest = uri.split("://", 1)
        return cls(name=name, uri=f"postgresql://{rest}")

    def drop(self) -> None:
        conn = _admin_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            conn.close()


# --------------------------------------------------------------------------- servers


_RUNNING: list["Server"] = []


@atexit.register
def _stop_leftovers() -> None:
    """A last resort when a run is interrupted before its fixtures finish."""
    for server in list(_RUNNING):
        try:
            server.stop(timeout=5)
        except Exception:  # noqa: BLE001
            pass


@dataclass
class Server:
    kind: str  # "bun" or "python"
    url: str
    backend_store_uri: str
    workdir: Path  # the server's cwd: relative artifact paths resolve against it
    proc: subprocess.Popen
    log_path: Path
    extra: dict = field(default_factory=dict)

    def _group_alive(self) -> bool:
        return _group_alive_(self.proc.pid)

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def stop(self, timeout: float = 15.0) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.proc.poll() is not None and not self._group_alive():
            return
        pgid = self.proc.pid  # start_new_session=True: the process leads its own group
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        # The leader may be gone while children linger: make sure the group is empty.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=5)


def _group_alive_(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _wait_for_health(proc: subprocess.Popen, url: str, timeout: float, log_path: Path, health: str = "/health") -> None:
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with code {proc.returncode} before answering {health}; log:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )
        try:
            r = requests.get(f"{url}{health}", timeout=2)
            if r.status_code == 200:
                return
            last_error = f"HTTP {r.status_code}"
        except requests.RequestException as e:
            last_error = str(e)
        time.sleep(0.1)
    raise RuntimeError(
        f"server at {url} did not answer {health} within {timeout}s ({last_error}); log:\n"
        + log_path.read_text(errors="replace")[-4000:]
    )


def _spawn(kind: str, cmd: list[str], env: dict, workdir: Path, port: int, backend: str, timeout: float, health: str = "/health") -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{kind}-server.log"
    log = open(log_path, "wb")
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()
    url = f"http://127.0.0.1:{port}"
    server = Server(kind=kind, url=url, backend_store_uri=backend, workdir=workdir, proc=proc, log_path=log_path)
    _RUNNING.append(server)
    try:
        _wait_for_health(proc, url, timeout, log_path, health)
    except BaseException:
        server.stop()
        raise
    return server


def bun_command() -> list[str]:
    binary = os.environ.get("MLFLOW_BUN_BINARY")
    if binary:
        return [binary]
    return [str(ROOT / "node_modules" / ".bin" / "bun"), str(ROOT / "src" / "cli.ts")]


def _base_env() -> dict:
    env = dict(os.environ)
    # Nothing may leak in that changes what either server does.
    for name in (
        "MLFLOW_BUN_PYTHON_URL",
        "MLFLOW_BACKEND_STORE_URI",
        "MLFLOW_DEFAULT_ARTIFACT_ROOT",
        "MLFLOW_ARTIFACTS_DESTINATION",
        "MLFLOW_SERVE_ARTIFACTS",
        "MLFLOW_STATIC_PREFIX",
        "MLFLOW_HOST",
        "MLFLOW_PORT",
        "MLFLOW_TRACKING_URI",
        # MLflow's session maker turns on test-only checks when it sees this (pytest sets it).
        "PYTEST_CURRENT_TEST",
    ):
        env.pop(name, None)
    return env


def start_bun(
    backend_store_uri: str,
    workdir: Path,
    default_artifact_root: str | None = None,
    extra_env: dict | None = None,
    extra_args: list[str] | None = None,
    health: str = "/health",
) -> Server:
    """`extra_env`: variables added to the server's environment (e.g. MLFLOW_WEBHOOK_*);
    `extra_args`: `mlflow server` options appended to the command line (both servers take them);
    `health`: the path that answers once it is up (under --static-prefix, the prefixed one)."""
    port = free_port()
    cmd = [*bun_command(), "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", backend_store_uri]
    if default_artifact_root is not None:
        cmd += ["--default-artifact-root", default_artifact_root]
    cmd += extra_args or []
    return _spawn("bun", cmd, {**_base_env(), **(extra_env or {})}, workdir, port, backend_store_uri, BUN_START_TIMEOUT, health)


def start_python(
    backend_store_uri: str,
    workdir: Path,
    default_artifact_root: str | None = None,
    extra_env: dict | None = None,
    extra_args: list[str] | None = None,
    health: str = "/health",
) -> Server:
    """`extra_env`: variables added to the server's environment (e.g. MLFLOW_WEBHOOK_*);
    `extra_args`: `mlflow server` options appended to the command line (both servers take them);
    `health`: the path that answers once it is up (under --static-prefix, the prefixed one)."""
    port = free_port()
    cmd = [
        str(VENV_BIN / "mlflow"), "server",
        "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", backend_store_uri,
        "--workers", "1",
    ]
    if default_artifact_root is not None:
        cmd += ["--default-artifact-root", default_artifact_root]
    cmd += extra_args or []
    env = _base_env()
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra_env or {})
    return _spawn("python", cmd, env, workdir, port, backend_store_uri, PYTHON_START_TIMEOUT, health)


def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path}"
