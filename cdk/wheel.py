"""A reproducible, offline build of the ``c4`` wheel (pure Python, ``py3-none-any``).

``pip wheel . --no-deps --no-build-isolation`` needs a setuptools that can build wheels
(``bdist_wheel``: setuptools >= 70.1 or the ``wheel`` package), which a fresh project venv may
lack, and with build isolation it downloads setuptools.  A pure-Python wheel is a zip file with a
``.dist-info`` folder, so this module writes it with the standard library, from the same
``pyproject.toml`` metadata (name, version, dependencies, scripts) and the package folder
``shared/c4``.  Entries carry a fixed timestamp, so equal sources give byte-identical wheels.
See docs/adr/0003-glue-library-wheel.md.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path
from typing import Any

_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _package_files(package_dir: Path) -> list[Path]:
    return [
        p
        for p in sorted(package_dir.rglob("*"))
        if p.is_file() and not _SKIP_PARTS.intersection(p.parts) and p.suffix != ".pyc"
    ]


def _metadata(project: dict[str, Any]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Requires-Dist: {dep}" for dep in project.get("dependencies", [])]
    return "\n".join(lines) + "\n"


def build_wheel(repo_root: Path, wheel_dir: Path, *, package: str = "c4", source: str = "shared") -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``wheel_dir`` and return its path.

    Parameters
    ----------
    repo_root : Path
        Folder with ``pyproject.toml``.
    wheel_dir : Path
        Output folder (created).
    package : str
        Import package to ship.
    source : str
        Folder (relative to ``repo_root``) that holds the package.
    """
    project = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"].replace("-", "_"), project["version"]
    dist_info = f"{name}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = []
    package_dir = repo_root / source / package
    for path in _package_files(package_dir):
        entries.append((f"{package}/{path.relative_to(package_dir).as_posix()}", path.read_bytes()))
    entries.append((f"{dist_info}/METADATA", _metadata(project).encode()))
    entries.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: c4-cdk\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    scripts = project.get("scripts", {})
    if scripts:
        body = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(scripts.items()))
        entries.append((f"{dist_info}/entry_points.txt", body.encode()))
    entries.append((f"{dist_info}/top_level.txt", f"{package}\n".encode()))
    record = "".join(f"{arc},{_record_hash(data)},{len(data)}\n" for arc, data in entries)
    entries.append((f"{dist_info}/RECORD", (record + f"{dist_info}/RECORD,,\n").encode()))

    wheel_dir.mkdir(parents=True, exist_ok=True)
    target = wheel_dir / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arc, data in entries:
            info = zipfile.ZipInfo(arc, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return target
