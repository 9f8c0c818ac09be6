"""`mlflow-bun server`: MLflow's own server on a private port of 127.0.0.1, then — once it
answers /health, so its migrations are done — the mlflow-bun binary on the user's --host/--port,
proxying what it does not serve natively to it. Both get the user's arguments verbatim; the
launcher only adds where each listens.

When MLflow's server dies, the binary keeps serving its native routes (the proxied ones answer
503 TEMPORARILY_UNAVAILABLE meanwhile) and MLflow's server is restarted on the same private port
after a pause that doubles with each failure in a row; after MAX_QUICK_FAILURES deaths in a row,
each within QUICK_FAILURE seconds of its start, the launcher gives up: it stops the binary and
exits non-zero, as it does at once when the binary dies."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
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

# Restarts of MLflow's server: the first after RESTART_BACKOFF seconds, doubling up to
# RESTART_BACKOFF_MAX while the failures come in a row; a server that answered and then ran
# QUICK_FAILURE seconds or more starts a new row. A restarted server that does not answer within
# RESTART_READY_TIMEOUT is stopped (a failure): MLflow's server can hang instead of exiting, e.g.
# when uvicorn cannot bind or the database is unreachable.
RESTART_BACKOFF = 0.5
RESTART_BACKOFF_MAX = 30.0
QUICK_FAILURE = 60.0
MAX_QUICK_FAILURES = 5
RESTART_READY_TIMEOUT = 300.0


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

    def start_python() -> Child:
        return Child(
            "python",
            "MLflow's Python server",
            # The user's options, then where to listen: click keeps an option's last value.
            [sys.executable, "-m", "mlflow", "server", *argv, "--host", "127.0.0.1", "--port", str(port)],
            {**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    python = start_python()
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

    started = time.monotonic()
    ready = True
    failures = 0  # deaths in a row, each soon after its start
    while True:
        if wake.stop_signal:
            return _stopped(wake)
        if bun.exited():
            bun.drain()
            click.echo(f"Error: {bun.label} (pid {bun.pid}) {bun.describe_exit()}; stopping {python.label} (pid {python.pid}).", err=True)
            return 1
        if python.exited():
            python.drain()
            quick = not ready or time.monotonic() - started < QUICK_FAILURE
            failures = failures + 1 if quick else 1
            if failures >= MAX_QUICK_FAILURES:
                click.echo(
                    f"Error: {python.label} (pid {python.pid}) {python.describe_exit()}; it failed {failures} times in a row "
                    f"(each before answering or within {QUICK_FAILURE:g} s of its start): giving up; stopping {bun.label} (pid {bun.pid}).",
                    err=True,
                )
                return 1
            delay = min(RESTART_BACKOFF * 2 ** (failures - 1), RESTART_BACKOFF_MAX)
            logs.say(
                f"{python.label} (pid {python.pid}) {python.describe_exit()}; restarting it in {delay:g} s "
                f"(failure {failures} of {MAX_QUICK_FAILURES} in a row); meanwhile mlflow-bun serves its native routes "
                f"and answers 503 for the others"
            )
            # Its whole group goes: uvicorn workers orphaned by a killed `mlflow server` hold the port.
            python.stop(PYTHON_GRACE)
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not wake.stop_signal and not bun.exited():
                wake.sleep(deadline - time.monotonic())
            if wake.stop_signal or bun.exited():
                continue
            python = start_python()
            children[0] = python
            started, ready = time.monotonic(), False
            logs.say(f"restarted MLflow's Python server (pid {python.pid}) on {python_url}")
            continue
        if not ready and _answers(health):
            ready = True
            logs.say(f"MLflow's Python server (pid {python.pid}) is ready again at {python_url}")
        elif not ready and time.monotonic() - started > RESTART_READY_TIMEOUT:
            logs.say(f"MLflow's Python server (pid {python.pid}) did not answer within {RESTART_READY_TIMEOUT:g} s of its restart; stopping it")
            python.stop(PYTHON_GRACE)
            continue
        wake.sleep(0.25 if not ready else 1.0)


def _stopped(wake: _Wakeup) -> int:
    logs.say(f"{signal.Signals(wake.stop_signal).name}: stopping")
    return 0
