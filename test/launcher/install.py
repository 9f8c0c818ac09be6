"""The wheel under test and the venv it is installed in.

The venv is built the Makefile's way (python/requirements-dev.txt, then mlflow --no-deps, since
the registry lacks mlflow-skinny 3.18.0) under .test-tmp/launcher-venv. Building it takes minutes,
so it is kept between runs while its inputs are unchanged (MLFLOW_BUN_FRESH_VENV=1 rebuilds it);
the wheel is reinstalled into it on every run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
BINARY = DIST / "mlflow-bun"
VENV = ROOT / ".test-tmp" / "launcher-venv"
REQUIREMENTS = ROOT / "python" / "requirements-dev.txt"
PIP = [str(VENV / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]


def _wheel_inputs() -> list[Path]:
    return [BINARY, ROOT / "MLFLOW_VERSION", *(ROOT / "python").glob("*.py"), ROOT / "python" / "pyproject.toml", *(ROOT / "python" / "mlflow_bun").rglob("*.py")]


def wheel() -> Path:
    """dist/mlflow_bun-*.whl, rebuilt unless it is newer than the binary and python/."""
    if not BINARY.exists():
        raise RuntimeError(f"{BINARY} is missing: run `make build` first")
    wheels = sorted(DIST.glob("mlflow_bun-*.whl"))
    newest_input = max(p.stat().st_mtime for p in _wheel_inputs())
    if len(wheels) == 1 and wheels[0].stat().st_mtime >= newest_input:
        return wheels[0]
    out = subprocess.run(
        [sys.executable, str(ROOT / "python" / "build_wheel.py"), "--binary", str(BINARY), "--out", str(DIST)],
        check=True, capture_output=True, text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def _venv_key() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes() + (ROOT / "MLFLOW_VERSION").read_bytes()).hexdigest()


def venv() -> Path:
    """The venv's bin/ directory, with mlflow 3.18.0 and its requirements installed."""
    stamp = VENV / ".installed"
    key = _venv_key()
    if os.environ.get("MLFLOW_BUN_FRESH_VENV") == "1" or not stamp.exists() or stamp.read_text() != key:
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        mlflow = (ROOT / "MLFLOW_VERSION").read_text().strip()
        subprocess.run([*PIP, "install", "-r", str(REQUIREMENTS)], check=True)
        subprocess.run([*PIP, "install", "--no-deps", f"mlflow=={mlflow}"], check=True)
        stamp.write_text(key)
    return VENV / "bin"


def install(wheel_path: Path) -> Path:
    """Installs the wheel (--no-deps: its mlflow==3.18.0 pin is met by the venv, whose mlflow was
    itself installed --no-deps) and returns the venv's bin/."""
    bin_dir = venv()
    subprocess.run([*PIP, "install", "--no-deps", "--force-reinstall", str(wheel_path)], check=True)
    return bin_dir
