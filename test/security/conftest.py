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
import secrets
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "parity"))

import pytest  # noqa: E402

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
            python = self._track(servers.start_python(backend.python_uri, workdir / "python", extra_env=env, extra_args=args))
            bun = self._track(servers.start_bun(backend.bun_uri, workdir / "bun", extra_args=[*args, "--python-url", python.url]))
            auth = AuthSetup(admin=(ADMIN_USER, password), user=(USER, "Us3r-" + uuid.uuid4().hex[:12]),
                             config_path=config_path, auth_db=auth_db)
            return Pair(key, python, bun, auth=auth)
        if kind == "prefix":
            # one artifact store for both (the default ./mlartifacts is relative to each one's cwd)
            args = ["--static-prefix", STATIC_PREFIX, "--artifacts-destination", str(workdir / "mlartifacts")]
            health = f"{STATIC_PREFIX}/health"
            python = self._track(servers.start_python(backend.python_uri, workdir / "python", extra_args=args, health=health))
            bun = self._track(servers.start_bun(backend.bun_uri, workdir / "bun", extra_args=[*args, "--python-url", python.url], health=health))
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
