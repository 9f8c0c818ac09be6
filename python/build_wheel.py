"""Builds the mlflow-bun wheel: the mlflow_bun package plus the compiled binary, tagged for the
platform the binary runs on. Written out by hand (zip + RECORD) because no build backend puts a
prebuilt executable into a py3-none-<platform> wheel without extra downloads and config.

    python python/build_wheel.py [--binary dist/mlflow-bun] [--out dist]

It is also the PEP 517 backend named in pyproject.toml, so `pip wheel python/` works offline.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import platform
import re
import stat
import struct
import sys
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGE = "mlflow_bun"
BINARY_ARCNAME = f"{PACKAGE}/bin/mlflow-bun"
# Fixed timestamps make two builds of the same inputs byte-identical.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def _glibc_floor(binary: Path) -> tuple[int, int]:
    """The newest GLIBC_x.y symbol version the binary needs, read from its ELF .dynstr (the only
    section holding version names; the embedded JavaScript may contain such text too)."""
    data = binary.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit(f"{binary} is not a 64-bit little-endian ELF executable")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = sections[shstrndx]
    versions = []
    for sec in sections:
        name_end = data.index(b"\0", names[4] + sec[0])
        if data[names[4] + sec[0]:name_end] == b".dynstr":
            blob = data[sec[4]:sec[4] + sec[5]]
            versions = [(int(a), int(b)) for a, b in re.findall(rb"GLIBC_(\d+)\.(\d+)", blob)]
    if not versions:
        raise SystemExit(f"{binary}: no GLIBC symbol versions found; cannot choose a manylinux tag")
    return max(versions)


def platform_tag(binary: Path) -> str:
    if sys.platform != "linux":
        raise SystemExit(f"only Linux wheels are supported (this is {sys.platform})")
    major, minor = _glibc_floor(binary)
    return f"manylinux_{major}_{minor}_{platform.machine()}"


def _project() -> dict:
    return tomllib.loads((HERE / "pyproject.toml").read_text())["project"]


def _requirements(project: dict) -> list[str]:
    # Pin mlflow to the version whose API and schema head the binary was generated from.
    pin = (ROOT / "MLFLOW_VERSION").read_text().strip()
    return [f"mlflow=={pin}" if r == "mlflow" else r for r in project["dependencies"]]


def _metadata(project: dict) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project['description']}",
        f"License: {project['license']['text']}",
        f"Requires-Python: {project['requires-python']}",
    ]
    lines += [f"Requires-Dist: {r}" for r in _requirements(project)]
    return "\n".join(lines) + "\n"


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def build(binary: Path, out_dir: Path) -> Path:
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"{binary} is missing or not executable: run `make build` first")
    project = _project()
    version = project["version"]
    tag = f"py3-none-{platform_tag(binary)}"
    dist_info = f"{PACKAGE}-{version}.dist-info"
    files: list[tuple[str, bytes, int]] = []  # arcname, bytes, unix mode
    for path in sorted((HERE / PACKAGE).rglob("*.py")):
        files.append((path.relative_to(HERE).as_posix(), path.read_bytes(), 0o644))
    files.append((BINARY_ARCNAME, binary.read_bytes(), 0o755))
    scripts = "".join(f"{name} = {target}\n" for name, target in project["scripts"].items())
    files += [
        (f"{dist_info}/METADATA", _metadata(project).encode(), 0o644),
        (f"{dist_info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: mlflow-bun build_wheel.py\nRoot-Is-Purelib: false\nTag: {tag}\n".encode(), 0o644),
        (f"{dist_info}/entry_points.txt", f"[console_scripts]\n{scripts}".encode(), 0o644),
    ]
    record = "\n".join(_record_line(a, d) for a, d, _ in files) + f"\n{dist_info}/RECORD,,\n"
    files.append((f"{dist_info}/RECORD", record.encode(), 0o644))

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{PACKAGE}-*.whl"):  # one wheel in dist/: the current one
        old.unlink()
    wheel = out_dir / f"{PACKAGE}-{version}-{tag}.whl"
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, data, mode in files:
            info = zipfile.ZipInfo(arcname, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | mode) << 16  # pip restores the executable bit from here
            zf.writestr(info, data)
    tmp.replace(wheel)
    return wheel


# ---- PEP 517 hooks (pip wheel python/, python -m build --wheel python/) ------------------------


def _default_binary() -> Path:
    return Path(os.environ.get("MLFLOW_BUN_BINARY") or ROOT / "dist" / "mlflow-bun")


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    return build(_default_binary(), Path(wheel_directory)).name


def get_requires_for_build_wheel(config_settings=None) -> list[str]:
    return []


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=_default_binary())
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    print(build(args.binary, args.out))
