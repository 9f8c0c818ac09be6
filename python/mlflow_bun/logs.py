"""Both servers' output on the launcher's terminal, each line prefixed with its server's name,
stdout to stdout and stderr to stderr, whole lines only (the two never interleave mid-line)."""

from __future__ import annotations

import sys
import threading
from typing import IO

_lock = threading.Lock()


def say(message: str) -> None:
    """The launcher's own lines."""
    _write(sys.stderr, f"[mlflow-bun] {message}\n".encode())


def _write(stream: IO, data: bytes) -> None:
    with _lock:
        try:
            stream.buffer.write(data)
            stream.flush()
        except (BrokenPipeError, ValueError):  # our terminal went away: keep the servers running
            pass


def _pump(source: IO[bytes], prefix: bytes, target: IO) -> None:
    with source:
        for line in iter(source.readline, b""):
            _write(target, prefix + line if line.endswith(b"\n") else prefix + line + b"\n")


def relay(name: str, stdout: IO[bytes], stderr: IO[bytes]) -> list[threading.Thread]:
    """Starts copying a child's two pipes; the threads end when the child closes them."""
    prefix = f"[{name}] ".encode()
    threads = [
        threading.Thread(target=_pump, args=(stdout, prefix, sys.stdout), name=f"{name}-stdout", daemon=True),
        threading.Thread(target=_pump, args=(stderr, prefix, sys.stderr), name=f"{name}-stderr", daemon=True),
    ]
    for t in threads:
        t.start()
    return threads
