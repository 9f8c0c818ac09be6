"""MLflow's server dying is restarted with back-off while the binary serves on (and after five
quick failures in a row both stop); the binary dying stops both; the usual mistakes end in one
clear line (SIGTERM: test_serving.py, at the end of each launcher's life)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time

import requests

import servers
from launchers import group_members, launcher_env


def _run(bin_dir, args, cwd, **env):
    return subprocess.run([str(bin_dir / "mlflow-bun"), *args], cwd=cwd, env=launcher_env(**env), capture_output=True, text=True, timeout=120)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# A route only MLflow's server answers: through the binary while it runs, 503 JSON while it is down.
PROXIED = "/api/2.0/mlflow/traces?experiment_ids=0"
NATIVE = "/api/2.0/mlflow/experiments/search?max_results=10"


def _poll(launcher, what, check, tries=1200):
    """Polls until check() returns something other than None, and returns it (bounded in count)."""
    for _ in range(tries):
        if (found := check()) is not None:  # not truthiness: an error Response is falsy
            return found
        time.sleep(0.1)
    own = [line for line in launcher.log().splitlines() if not line.startswith("[python] ")]
    raise AssertionError(f"gave up waiting until {what}; launcher output (without [python] lines):\n" + "\n".join(own[-80:]))


def _answer(url, status):
    """The answer to GET url if its status is `status`, else None (no answer at all included)."""
    try:
        r = requests.get(url, timeout=30)
    except requests.RequestException:
        return None
    return r if r.status_code == status else None


def test_python_dying_is_restarted_while_native_routes_serve(sqlite_launcher):
    launcher = sqlite_launcher
    assert _answer(launcher.url + PROXIED, 200)
    os.kill(launcher.python_pid, signal.SIGKILL)  # the `mlflow server` process only, not its workers

    down = _poll(launcher, "the proxied route answers 503", lambda: _answer(launcher.url + PROXIED, 503))
    assert down.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    native = _answer(launcher.url + NATIVE, 200)  # the binary serves on meanwhile
    assert native is not None and [e["name"] for e in native.json()["experiments"]] == ["Default"]

    _poll(launcher, "the proxied route answers again", lambda: _answer(launcher.url + PROXIED, 200))
    log = launcher.log()
    assert f"[mlflow-bun] MLflow's Python server (pid {launcher.python_pid}) was killed by SIGKILL; restarting it in 0.5 s (failure 1 of 5 in a row)" in log
    restarted = int(re.search(r"\[mlflow-bun\] restarted MLflow's Python server \(pid (\d+)\) on " + re.escape(launcher.python_url), log)[1])
    assert restarted != launcher.python_pid
    assert group_members(launcher.python_pid) == []  # the old server's orphaned uvicorn processes too
    assert launcher.proc.poll() is None
    assert group_members(launcher.bun_pid)  # the binary was never restarted


def test_python_failing_in_a_row_gives_up(sqlite_launcher):
    launcher = sqlite_launcher
    killed = [launcher.python_pid]
    os.kill(launcher.python_pid, signal.SIGKILL)
    # Each restarted server is killed as soon as the launcher names it: 5 failures in a row.
    for _ in range(4):
        def restarted():
            pids = [int(p) for p in re.findall(r"\[mlflow-bun\] restarted MLflow's Python server \(pid (\d+)\)", launcher.log())]
            return pids[len(killed) - 1] if len(pids) >= len(killed) else None
        pid = _poll(launcher, "the launcher restarts MLflow's server", restarted)
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    assert launcher.wait_exit() != 0
    log = launcher.log()
    for n, delay in enumerate(["0.5", "1", "2", "4"], start=1):
        assert f"was killed by SIGKILL; restarting it in {delay} s (failure {n} of 5 in a row)" in log
    assert (
        f"Error: MLflow's Python server (pid {killed[-1]}) was killed by SIGKILL; it failed 5 times in a row "
        f"(each before answering or within 60 s of its start): giving up; stopping mlflow-bun (pid {launcher.bun_pid})."
    ) in log
    assert group_members(launcher.bun_pid) == []
    assert all(group_members(pid) == [] for pid in killed)


def test_binary_dying_stops_python(sqlite_launcher):
    launcher = sqlite_launcher
    os.kill(launcher.bun_pid, signal.SIGKILL)
    assert launcher.wait_exit() != 0
    assert f"Error: mlflow-bun (pid {launcher.bun_pid}) was killed by SIGKILL; stopping MLflow's Python server (pid {launcher.python_pid})." in launcher.log()
    assert group_members(launcher.python_pid) == []


def test_port_in_use_is_one_line(bin_dir, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = _run(bin_dir, ["server", "--port", str(port), "--backend-store-uri", f"sqlite:///{tmp_path}/m.db"], tmp_path)
    assert out.returncode != 0
    assert _lines(out.stderr) == [f"Error: cannot listen on 127.0.0.1:{port}: address already in use"]
    assert out.stdout == ""  # nothing was started


def test_bad_store_uris_are_one_line(bin_dir, tmp_path):
    admin = servers.pg_admin_url()
    missing_db = "postgresql://" + admin.split("://", 1)[1].rsplit("/", 1)[0] + "/mlflow_bun_no_such_database"
    for uri, expected in [
        ("nosuch://somewhere", "mlflow-bun serves SQLite and PostgreSQL stores"),
        ("sqlite:///:memory:", "in-memory SQLite database, which MLflow's server and mlflow-bun cannot share"),
        (missing_db, 'database "mlflow_bun_no_such_database" does not exist'),
    ]:
        out = _run(bin_dir, ["server", "--port", str(servers.free_port()), "--backend-store-uri", uri], tmp_path)
        assert out.returncode != 0, uri
        lines = _lines(out.stderr)
        assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], out.stderr


def test_missing_binary_is_one_line(bin_dir, tmp_path):
    out = _run(bin_dir, ["server", "--port", str(servers.free_port()), "--backend-store-uri", f"sqlite:///{tmp_path}/m.db"], tmp_path,
               MLFLOW_BUN_BINARY=str(tmp_path / "nowhere" / "mlflow-bun"))
    assert out.returncode != 0
    assert _lines(out.stderr) == [f"Error: MLFLOW_BUN_BINARY names {tmp_path}/nowhere/mlflow-bun, which does not exist (reinstall mlflow-bun, or set MLFLOW_BUN_BINARY)"]


def test_bad_flag_is_clicks_usage_error(bin_dir, tmp_path):
    # `python -m mlflow_bun` is the same command as the `mlflow-bun` script.
    out = subprocess.run([str(bin_dir / "python"), "-m", "mlflow_bun", "server", "--no-such-flag"], cwd=tmp_path, env=launcher_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("Usage: mlflow-bun server [OPTIONS]")
    assert "Error: No such option '--no-such-flag'" in out.stderr


def test_takes_every_mlflow_server_option(bin_dir, tmp_path):
    from mlflow.cli import server  # the test venv's mlflow is the same version as this one

    out = _run(bin_dir, ["server", "--help"], tmp_path)
    assert out.returncode == 0, out.stderr
    listed = [o for p in server.params for o in p.opts + p.secondary_opts]
    assert len(listed) > 20
    for option in listed:
        assert option in out.stdout, option
