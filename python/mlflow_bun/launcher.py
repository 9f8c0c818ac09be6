"""`mlflow-bun server`: MLflow's own server on a private port of 127.0.0.1, then — once it
answers /health, so its migrations are done — the mlflow-bun binary on the user's --host/--port,
proxying what it does not serve natively to it. Both get the user's arguments verbatim; the
launcher only adds where each listens. Whichever stops first, the other is stopped too."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import urllib.error
import urllib.request

import click

from mlflow_bun import logs, preflight
from mlflow_bun.binary import MissingBinary, binary_path
from mlflow_bun.child import Child

# Seconds each gets between SIGTERM and SIGKILL: the binary finishes in-flight requests; MLflow's
# server also stops uvicorn's workers and its job runner.
BUN_GRACE = 10.0
PYTHON_GRACE = 30.0


class _Wakeup:
    """Lets the main loop sleep until a stop signal arrives or a child changes state."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.stop_signal: int | None = None

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: self.event.set())

    def _on_stop(self, signum: int, _frame) -> None:
        self.stop_signal = self.stop_signal or signum
        self.event.set()

    def sleep(self, seconds: float) -> None:
        self.event.wait(seconds)
        self.event.clear()


def _private_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Straight to 127.0.0.1, whatever HTTP(S)_PROXY says.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    try:
        with _direct.open(url, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _no_proxy_env() -> dict[str, str]:
    """The binary's environment: its requests to MLflow's server must not go through a proxy."""
    env = dict(os.environ)
    for name in ("NO_PROXY", "no_proxy"):
        env[name] = ",".join(filter(None, [env.get(name), "127.0.0.1"]))
    return env


def launch(argv: list[str], ctx: click.Context) -> int:
    params = ctx.params
    try:
        binary = binary_path()
        preflight.check_listen_address(params["host"], int(params["port"]))
        if not params.get("artifacts_only"):
            preflight.check_store(*preflight.resolve_store_uri(ctx))
    except (MissingBinary, preflight.PreflightError) as e:
        click.echo(f"Error: {e}", err=True)
        return 1

    wake = _Wakeup()
    wake.install()
    children: list[Child] = []
    try:
        return _supervise(argv, params, str(binary), wake, children)
    finally:
        # Newest first: the binary stops taking requests before MLflow's server goes.
        for child in reversed(children):
            child.stop(BUN_GRACE if child.name == "bun" else PYTHON_GRACE)


def _supervise(argv: list[str], params: dict, binary: str, wake: _Wakeup, children: list[Child]) -> int:
    port = _private_port()
    python_url = f"http://127.0.0.1:{port}"
    python = Child(
        "python",
        "MLflow's Python server",
        # The user's options, then where to listen: click keeps an option's last value.
        [sys.executable, "-m", "mlflow", "server", *argv, "--host", "127.0.0.1", "--port", str(port)],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    children.append(python)
    logs.say(f"started MLflow's Python server (pid {python.pid}) on {python_url}; waiting for it to answer")

    health = f"{python_url}{params.get('static_prefix') or ''}/health"
    while not _answers(health):
        if wake.stop_signal:
            return _stopped(wake)
        if python.exited():
            python.drain()
            click.echo(f"Error: MLflow's Python server (pid {python.pid}) {python.describe_exit()} before it was ready; see its [python] output above.", err=True)
            return 1
        wake.sleep(0.25)
    logs.say(f"MLflow's Python server (pid {python.pid}) is ready at {python_url}")

    bun = Child("bun", "mlflow-bun", [binary, "server", *argv, "--python-url", python_url], _no_proxy_env())
    children.append(bun)
    logs.say(f"started mlflow-bun (pid {bun.pid}) on {params['host']}:{params['port']}")

    while True:
        if wake.stop_signal:
            return _stopped(wake)
        for child in (bun, python):
            if child.exited():
                other = python if child is bun else bun
                child.drain()
                click.echo(f"Error: {child.label} (pid {child.pid}) {child.describe_exit()}; stopping {other.label} (pid {other.pid}).", err=True)
                return 1
        wake.sleep(1.0)


def _stopped(wake: _Wakeup) -> int:
    logs.say(f"{signal.Signals(wake.stop_signal).name}: stopping")
    return 0
