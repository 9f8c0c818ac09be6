"""Where the compiled mlflow-bun binary is: the one the wheel installed beside this module,
unless MLFLOW_BUN_BINARY names another (a development build, a test's build)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "bin" / "mlflow-bun"


class MissingBinary(Exception):
    pass


def binary_path() -> Path:
    override = os.environ.get("MLFLOW_BUN_BINARY")
    path = Path(override) if override else PACKAGED
    if not path.is_file():
        where = "MLFLOW_BUN_BINARY names" if override else "the mlflow-bun package has no binary at"
        raise MissingBinary(f"{where} {path}, which does not exist (reinstall mlflow-bun, or set MLFLOW_BUN_BINARY)")
    if not os.access(path, os.X_OK):
        raise MissingBinary(f"the mlflow-bun binary {path} is not executable")
    return path
