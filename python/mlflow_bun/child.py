"""One server process the launcher owns. Each runs in its own session, so stopping it reaches
everything it started (uvicorn and its workers, for MLflow's server), and a Ctrl-C on the
terminal reaches only the launcher, which then stops both in order."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from mlflow_bun import logs


class Child:
    def __init__(self, name: str, label: str, cmd: list[str], env: dict[str, str]):
        self.name = name  # the log prefix: python, bun
        self.label = label  # for messages: "MLflow's Python server"
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        self.pid = self.proc.pid
        self._relays = logs.relay(name, self.proc.stdout, self.proc.stderr)

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def describe_exit(self) -> str:
        code = self.proc.returncode
        if code is not None and code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace: float) -> None:
        """SIGTERM to the whole group, SIGKILL to whatever is left after `grace` seconds; also
        sweeps up the group of a child that died on its own (its workers may linger)."""
        self._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        while self._group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._group_alive() or self.proc.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait()
        self.drain()

    def drain(self, timeout: float = 2.0) -> None:
        """Lets the child's last lines reach the terminal before the launcher's next message."""
        for t in self._relays:
            t.join(timeout)
