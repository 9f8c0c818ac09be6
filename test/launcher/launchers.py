"""`mlflow-bun server` from the installed wheel, run the way a user runs it, its terminal output
captured to a file. The launcher prints its children's pids and MLflow's private URL; the tests
read them from there."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

# Guards against a hang only; nothing asserts how long anything takes.
READY_TIMEOUT = 240.0
EXIT_TIMEOUT = 90.0

PYTHON_STARTED = re.compile(r"\[mlflow-bun\] started MLflow's Python server \(pid (\d+)\) on (http://\S+);")
BUN_STARTED = re.compile(r"\[mlflow-bun\] started mlflow-bun \(pid (\d+)\)")


def launcher_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        # Nothing from the test run may change what the servers do; the packaged binary is the one
        # under test (test/run.ts points MLFLOW_BUN_BINARY at dist/ for the other suites).
        if name.startswith("MLFLOW_") or name == "PYTEST_CURRENT_TEST":
            del env[name]
    # One uvicorn worker and no job runner: the machine is shared; the binary ignores both.
    env["MLFLOW_WORKERS"] = "1"
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env.update(extra)
    return env


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


@dataclass
class Launcher:
    proc: subprocess.Popen
    log_path: Path
    port: int
    url: str = ""
    python_url: str = ""
    python_pid: int = 0
    bun_pid: int = 0
    extra: dict = field(default_factory=dict)

    @classmethod
    def start(cls, bin_dir: Path, args: list[str], cwd: Path, port: int, env: dict[str, str] | None = None) -> "Launcher":
        cwd.mkdir(parents=True, exist_ok=True)
        log_path = cwd / "launcher.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(bin_dir / "mlflow-bun"), "server", "--port", str(port), *args],
                cwd=cwd, env=env or launcher_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        return cls(proc=proc, log_path=log_path, port=port, url=f"http://127.0.0.1:{port}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> "Launcher":
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"launcher exited with {self.proc.returncode} before serving; output:\n{self.log()}")
            text = self.log()
            if (m := PYTHON_STARTED.search(text)) and (b := BUN_STARTED.search(text)):
                self.python_pid, self.python_url, self.bun_pid = int(m[1]), m[2], int(b[1])
                try:
                    if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                        return self
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"launcher did not serve within {READY_TIMEOUT}s; output:\n{self.log()}")

    def wait_exit(self) -> int:
        try:
            return self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"launcher did not exit; output:\n{self.log()}") from None

    def stop(self) -> None:
        """Teardown: SIGTERM, and if anything is left (a failed test), kill it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pgid in (self.python_pid, self.bun_pid):
            if pgid and group_members(pgid):
                os.killpg(pgid, signal.SIGKILL)
