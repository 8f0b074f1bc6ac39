"""Synth-time building blocks: stage settings, the offline wheel, the Glue bundle, the jsii Node."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cdk.bundle import build_glue_bundle, bundle_hash, runtime_requirements, wheel_name
from cdk.jsii_node import use_bundled_node
from cdk.stages import STAGES, stage_config
from cdk.wheel import build_wheel

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_stages_differ_where_they_should() -> None:
    assert sorted(STAGES) == ["dev", "prod", "staging"]
    assert [STAGES[s].retain_data for s in ("dev", "staging", "prod")] == [False, False, True]
    assert STAGES["prod"].generate_on_schedule is False
    assert STAGES["prod"].scoring_reserved_concurrency > STAGES["dev"].scoring_reserved_concurrency
    assert STAGES["prod"].glue_size("elt").workers > STAGES["dev"].glue_size("elt").workers
    assert stage_config("dev").prefix == "c4-dev" and stage_config("dev").glue_database == "c4_dev"
    with pytest.raises(ValueError, match="unknown stage 'qa'"):
        stage_config("qa")


def test_wheel_is_reproducible_and_complete(repo_root: Path, tmp_path: Path) -> None:
    first = build_wheel(repo_root, tmp_path / "a")
    second = build_wheel(repo_root, tmp_path / "b")
    assert first.name == "c4-0.1.0-py3-none-any.whl"
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as zf:
        names = set(zf.namelist())
        metadata = zf.read("c4-0.1.0.dist-info/METADATA").decode()
        record = zf.read("c4-0.1.0.dist-info/RECORD").decode()
    assert {"c4/__init__.py", "c4/settings.py", "c4/tables.py", "c4/py.typed"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    sql = {p.name for p in (repo_root / "shared/c4/queries").glob("*.sql")}
    assert sql <= {Path(n).name for n in names}  # package data ships too
    assert "Name: c4" in metadata and "Requires-Dist: duckdb>=1.1" in metadata
    assert len(record.splitlines()) == len(names)


def test_wheel_installs_and_imports_in_a_clean_target(repo_root: Path, tmp_path: Path) -> None:
    wheel = build_wheel(repo_root, tmp_path / "w")
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    out = subprocess.run(
        [sys.executable, "-c", "import c4.tables, c4.settings; print(c4.tables.__file__)"],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.strip().startswith(str(target))


def test_bundle_holds_scripts_and_wheel_and_is_cached(repo_root: Path, tmp_path: Path) -> None:
    glue_dir = build_glue_bundle(repo_root, tmp_path)
    scripts = {p.name for p in (glue_dir / "scripts").glob("*.py")}
    assert scripts == {p.name for p in (repo_root / "glue_jobs").glob("*.py")}
    assert "_entry.py" in scripts
    assert wheel_name(glue_dir) == "c4-0.1.0-py3-none-any.whl"
    assert glue_dir.parent.name == f"bundle-{bundle_hash(repo_root)}"
    mtime = (glue_dir / "lib" / wheel_name(glue_dir)).stat().st_mtime_ns
    assert build_glue_bundle(repo_root, tmp_path) == glue_dir
    assert (glue_dir / "lib" / wheel_name(glue_dir)).stat().st_mtime_ns == mtime


def test_runtime_requirements_are_the_pins(repo_root: Path) -> None:
    pins = runtime_requirements(repo_root)
    assert pins and all("==" in p for p in pins)
    assert "duckdb==" in " ".join(pins)


def test_bundled_node_is_used_unless_one_is_configured() -> None:
    env: dict[str, str] = {}
    node = use_bundled_node(env)
    assert node is not None and env["JSII_NODE"] == node and Path(node).exists()
    explicit = {"JSII_NODE": "/opt/node/bin/node"}
    assert use_bundled_node(explicit) == "/opt/node/bin/node"
