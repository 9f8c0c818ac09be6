"""One server dying stops the other, and the usual mistakes end in one clear line (SIGTERM:
test_serving.py, at the end of each launcher's life)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

import servers
from launchers import group_members, launcher_env


def _run(bin_dir, args, cwd, **env):
    return subprocess.run([str(bin_dir / "mlflow-bun"), *args], cwd=cwd, env=launcher_env(**env), capture_output=True, text=True, timeout=120)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_python_dying_stops_the_binary(sqlite_launcher):
    launcher = sqlite_launcher
    os.kill(launcher.python_pid, signal.SIGKILL)  # the `mlflow server` process only, not its workers
    assert launcher.wait_exit() != 0
    assert f"Error: MLflow's Python server (pid {launcher.python_pid}) was killed by SIGKILL; stopping mlflow-bun (pid {launcher.bun_pid})." in launcher.log()
    assert group_members(launcher.bun_pid) == []
    assert group_members(launcher.python_pid) == []  # its orphaned uvicorn processes too


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
