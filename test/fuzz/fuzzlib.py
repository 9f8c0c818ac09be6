"""What the fuzz modules share besides their fixtures (conftest.py)."""

from __future__ import annotations

import os

# `make fuzz` sets MLFLOW_BUN_FUZZ=long; `make test` runs the bounded pass.
LONG = os.environ.get("MLFLOW_BUN_FUZZ") == "long"

CANARY = "fuzz_canary"
CANARY_ROWS = [(1, "canary: if this row or table changes, a payload was executed")]


def examples(bounded: int, long: int) -> int:
    """Hypothesis examples per test: few in the bounded pass, many in the long one."""
    return long if LONG else bounded
