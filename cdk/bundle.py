"""Build, at synth time, what the Glue jobs run: the entry scripts and the ``c4`` wheel.

The result is a folder ``glue/`` with ``scripts/*.py`` (copied from ``glue_jobs/``) and
``lib/c4-<version>-py3-none-any.whl`` (:mod:`cdk.wheel`, the equivalent of
``pip wheel . --no-deps``).  The stack uploads it to the artifacts bucket under the same keys,
so the wheel keeps the file name pip needs for ``--additional-python-modules``.  Bundles are
cached by a hash of their inputs, so repeated synths (and parallel tests) build the wheel once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from cdk.wheel import build_wheel

_WHEEL_INPUTS = ("pyproject.toml", "README.md")
_SKIP_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def _library_files(repo_root: Path) -> list[Path]:
    files = [repo_root / name for name in _WHEEL_INPUTS if (repo_root / name).is_file()]
    for path in sorted((repo_root / "shared").rglob("*")):
        skipped = _SKIP_PARTS.intersection(path.parts) or path.suffix == ".pyc" or ".egg-info" in str(path)
        if path.is_file() and not skipped:
            files.append(path)
    return files


def glue_script_files(repo_root: Path) -> list[Path]:
    """The Glue entry scripts (``glue_jobs/*.py``)."""
    return sorted((repo_root / "glue_jobs").glob("*.py"))


def bundle_hash(repo_root: Path) -> str:
    """Content hash of everything that goes into the bundle."""
    digest = hashlib.sha256()
    for path in _library_files(repo_root) + glue_script_files(repo_root):
        digest.update(str(path.relative_to(repo_root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_glue_bundle(repo_root: Path, build_dir: Path) -> Path:
    """Build (or reuse) the bundle and return its ``glue/`` folder.

    Parameters
    ----------
    repo_root : Path
        The repository root (holds ``pyproject.toml``, ``shared/`` and ``glue_jobs/``).
    build_dir : Path
        Where bundles are cached (``build/cdk`` by default in ``app.py``).

    Returns
    -------
    Path
        ``<build_dir>/bundle-<hash>/glue`` with ``scripts/`` and ``lib/``.
    """
    final = build_dir / f"bundle-{bundle_hash(repo_root)}"
    if (final / "glue" / "lib").is_dir() and any((final / "glue" / "lib").glob("c4-*.whl")):
        return final / "glue"
    build_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="bundle-tmp-", dir=build_dir))
    try:
        scripts = staging / "glue" / "scripts"
        scripts.mkdir(parents=True)
        for script in glue_script_files(repo_root):
            shutil.copy2(script, scripts / script.name)
        build_wheel(repo_root, staging / "glue" / "lib")
        try:
            os.replace(staging, final)
        except OSError:
            if not (final / "glue").is_dir():  # another process may have won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune_old_bundles(build_dir, keep=final)
    return final / "glue"


def _prune_old_bundles(build_dir: Path, *, keep: Path, max_age_s: float = 3600) -> None:
    """Delete bundles of older sources (after an hour, so a synth running beside us keeps its own)."""
    now = time.time()
    for old in build_dir.glob("bundle-*"):
        if old != keep and now - old.stat().st_mtime > max_age_s:
            shutil.rmtree(old, ignore_errors=True)


def wheel_name(glue_dir: Path) -> str:
    """File name of the ``c4`` wheel inside a bundle."""
    return next((glue_dir / "lib").glob("c4-*.whl")).name


def runtime_requirements(repo_root: Path) -> list[str]:
    """The pinned runtime requirements (``requirements.txt``) for ``--additional-python-modules``."""
    out = []
    for line in (repo_root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out.append(line)
    return out
