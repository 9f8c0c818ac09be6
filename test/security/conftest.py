"""Fixtures for the security suite: MLflow's Python server and mlflow-bun in front of it, both
started with the same security-relevant options, on fresh databases.

* ("auth", dialect): `mlflow server --app-name basic-auth` (its auth database a fresh SQLite file in
  a temp dir, configured through MLFLOW_AUTH_CONFIG_PATH; default_permission NO_PERMISSIONS) on a
  fresh SQLite or PostgreSQL backend, and mlflow-bun with the same `--app-name basic-auth` and
  `--python-url` pointing at it (test_auth.py);
* ("prefix", "sqlite"): both started with `--static-prefix /mlf`, mlflow-bun with `--python-url`
  (test_static_prefix.py).

MLflow's server takes many seconds to start with the auth app, so all that the selected tests need
start in the background, side by side, as soon as the tests are collected; all are stopped, their
databases dropped, when the session ends. The server helpers are test/parity/servers.py's.
"""

from __future__ import annotations

import atexit
import os
import secrets
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity"))

import pytest  # noqa: E402
import requests  # noqa: E402

import pool  # noqa: E402
import servers  # noqa: E402

DIALECTS = ["sqlite", "postgres"]
STATIC_PREFIX = "/mlf"

ADMIN_USER = "admin"
USER = "alice"

AUTH_INI = """[mlflow]
default_permission = NO_PERMISSIONS
database_uri = sqlite:///{auth_db}
admin_username = {admin}
admin_password = {password}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
# Successful credential checks are cached (a password hash costs tens of milliseconds);
# wrong passwords are checked every time.
auth_cache_ttl_seconds = 600
"""


@dataclass
class AuthSetup:
    admin: tuple[str, str]
    user: tuple[str, str]  # created by the test module, never granted anything
    config_path: Path
    auth_db: Path


@dataclass
class Pair:
    """MLflow's Python server and mlflow-bun in front of it (--python-url)."""

    key: tuple
    python: servers.Server
    bun: servers.Server
    auth: AuthSetup | None = None
    prefix: str = ""


def _wait_until_answers(server: servers.Server, path: str, timeout: float) -> None:
    """Like servers._wait_for_health, for a health path under a static prefix."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.kind} server exited with code {server.proc.returncode}; log:\n{server.log_tail()}"
            )
        try:
            r = requests.get(server.url + path, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as e:
            last = str(e)
        time.sleep(0.1)
    raise RuntimeError(f"{server.kind} server did not answer {path} within {timeout}s ({last}); log:\n{server.log_tail()}")


def _spawn(kind: str, cmd: list[str], env: dict, workdir: Path, port: int, backend: str, health: str, timeout: float) -> servers.Server:
    """servers._spawn with the health check at `health` (/mlf/health under --static-prefix)."""
    import subprocess

    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{kind}-server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = servers.Server(kind=kind, url=f"http://127.0.0.1:{port}", backend_store_uri=backend,
                            workdir=workdir, proc=proc, log_path=log_path)
    servers._RUNNING.append(server)
    try:
        _wait_until_answers(server, health, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_python(backend: str, workdir: Path, args: list[str], env: dict, health: str = "/health") -> servers.Server:
    port = servers.free_port()
    cmd = [str(servers.VENV_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
           "--backend-store-uri", backend, "--workers", "1", *args]
    full_env = servers._base_env()
    full_env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    full_env["PATH"] = f"{servers.VENV_BIN}{os.pathsep}{full_env.get('PATH', '')}"
    full_env.update(env)
    return _spawn("python", cmd, full_env, workdir, port, backend, health, servers.PYTHON_START_TIMEOUT)


def start_bun(backend: str, workdir: Path, args: list[str], health: str = "/health") -> servers.Server:
    port = servers.free_port()
    cmd = [*servers.bun_command(), "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", backend, *args]
    return _spawn("bun", cmd, servers._base_env(), workdir, port, backend, health, servers.BUN_START_TIMEOUT)


class SecurityPool(pool.ServerPool):
    workers = 3
    name = "security"

    def _start(self, key: tuple) -> Pair:
        kind, dialect = key
        if dialect == "postgres" and servers.postgres_available():
            raise RuntimeError(servers.postgres_available())
        workdir = self._workdir(key)
        backend = self._backend(dialect, workdir, pg_prefix="mlflow_bun_security")
        if kind == "auth":
            password = "Adm1n-" + secrets.token_hex(8)
            config_path = workdir / "basic_auth.ini"
            auth_db = workdir / "auth.db"
            config_path.write_text(AUTH_INI.format(auth_db=auth_db, admin=ADMIN_USER, password=password))
            env = {
                "MLFLOW_AUTH_CONFIG_PATH": str(config_path),
                # the auth app's CSRF protection refuses to start without a static key
                "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
            }
            args = ["--app-name", "basic-auth"]
            python = self._track(start_python(backend.python_uri, workdir / "python", args, env))
            bun = self._track(start_bun(backend.bun_uri, workdir / "bun", [*args, "--python-url", python.url]))
            auth = AuthSetup(admin=(ADMIN_USER, password), user=(USER, "Us3r-" + uuid.uuid4().hex[:12]),
                             config_path=config_path, auth_db=auth_db)
            return Pair(key, python, bun, auth=auth)
        if kind == "prefix":
            # one artifact store for both (the default ./mlartifacts is relative to each one's cwd)
            args = ["--static-prefix", STATIC_PREFIX, "--artifacts-destination", str(workdir / "mlartifacts")]
            health = f"{STATIC_PREFIX}/health"
            python = self._track(start_python(backend.python_uri, workdir / "python", args, {}, health))
            bun = self._track(start_bun(backend.bun_uri, workdir / "bun", [*args, "--python-url", python.url], health))
            return Pair(key, python, bun, prefix=STATIC_PREFIX)
        raise ValueError(key)


POOL = SecurityPool()
atexit.register(POOL.close)  # a last resort when the session is interrupted


def _pool_key(item) -> tuple | None:
    callspec = getattr(item, "callspec", None)
    fixtures = getattr(item, "fixturenames", ())
    if "auth_pair" in fixtures and callspec is not None and "auth_pair" in callspec.params:
        return ("auth", callspec.params["auth_pair"])
    if "prefix_pair" in fixtures:
        return ("prefix", "sqlite")
    return None


def pytest_collection_finish(session):
    """Start the servers the selected tests need, all at once, in the background."""
    try:
        POOL.set_base(session.config._tmp_path_factory.mktemp("security-servers"))
    except Exception:  # noqa: BLE001 - a private pytest API; fall back to a temp dir
        pass
    for item in session.items:
        key = _pool_key(item)
        if key is not None:
            POOL.want(key)


def pytest_sessionfinish(session, exitstatus):
    POOL.close()


def _require_postgres(dialect: str) -> None:
    if dialect == "postgres":
        why = servers.postgres_available()
        if why:
            pytest.fail(f"{why} (set MLFLOW_BUN_PG_URL to an admin postgres:// URL)", pytrace=False)


@pytest.fixture(scope="session", params=DIALECTS)
def auth_pair(request) -> Pair:
    _require_postgres(request.param)
    return POOL.get(("auth", request.param))


@pytest.fixture(scope="session")
def prefix_pair() -> Pair:
    return POOL.get(("prefix", "sqlite"))
