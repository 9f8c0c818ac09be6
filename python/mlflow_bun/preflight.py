"""Checks made before anything starts, so the usual mistakes (a taken port, a store mlflow-bun
cannot serve or reach) cost one clear line instead of a traceback from a half-started server."""

from __future__ import annotations

import re
import socket

import click


class PreflightError(Exception):
    pass


def check_listen_address(host: str, port: int) -> None:
    """The user's --host/--port must be free now: MLflow's server takes seconds to start, and
    only then would mlflow-bun find out."""
    if port == 0:
        return  # any free port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise PreflightError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    family, type_, proto, _, address = infos[0]
    with socket.socket(family, type_, proto) as s:
        # As servers bind: a port held only by closed connections (TIME_WAIT) is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            raise PreflightError(f"cannot listen on {host}:{port}: {e.strerror.lower()}") from None


_SERVED = re.compile(r"^(sqlite|postgresql|postgres)(\+[A-Za-z0-9_]+)?://", re.I)


def resolve_store_uri(ctx: click.Context) -> tuple[str, bool]:
    """The backend store both servers will use, and whether the user named it (option or
    MLFLOW_BACKEND_STORE_URI) rather than MLflow choosing its default."""
    uri = ctx.params.get("backend_store_uri")
    if uri:
        return uri, True
    from mlflow.tracking._tracking_service.utils import _get_default_tracking_uri

    return _get_default_tracking_uri(), False


def _display(uri: str) -> str:
    """The URI without its password: error lines end up in logs."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(uri).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a database URL: nothing to hide
        return uri


def check_store(uri: str, given: bool = True) -> None:
    """mlflow-bun serves SQLite and PostgreSQL databases, and MLflow's server must reach it."""
    if not _SERVED.match(uri) and not given:
        # MLflow falls back to the file store when ./mlruns holds data.
        raise PreflightError(
            f"without --backend-store-uri MLflow uses the file store {uri} here, which mlflow-bun "
            "does not serve: pass --backend-store-uri sqlite:///mlflow.db (or postgresql://...)"
        )
    if not _SERVED.match(uri):
        raise PreflightError(
            f"--backend-store-uri '{_display(uri)}': mlflow-bun serves SQLite and PostgreSQL stores "
            "(sqlite:///path.db, postgresql://user@host/db)"
        )
    if re.match(r"^sqlite(\+\w+)?://(/(:memory:)?)?(\?.*)?$", uri, re.I):
        raise PreflightError(
            f"--backend-store-uri '{uri}' is an in-memory SQLite database, which MLflow's server "
            "and mlflow-bun cannot share: name a file (sqlite:///mlflow.db)"
        )
    import sqlalchemy

    connect_args = {} if uri.lower().startswith("sqlite") else {"connect_timeout": 10}
    try:
        engine = sqlalchemy.create_engine(uri, connect_args=connect_args)
        try:
            engine.connect().close()
        finally:
            engine.dispose()
    except Exception as e:  # noqa: BLE001 - whatever the driver raises, the user needs its first line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PreflightError(f"cannot open --backend-store-uri '{_display(uri)}': {first}") from None
