"""The Glue entry scripts' shared edge code: arguments -> Settings (key from Secrets Manager) -> result."""

from __future__ import annotations

import json
import runpy
import sys
import types
from pathlib import Path
from typing import Any

import boto3
import pytest
from c4.settings import Settings
from moto import mock_aws

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

GLUE_JOBS = Path(__file__).resolve().parents[2] / "glue_jobs"


@pytest.fixture
def entry(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    monkeypatch.syspath_prepend(str(GLUE_JOBS))
    sys.modules.pop("_entry", None)
    import _entry

    return _entry


@pytest.fixture
def fake_jobs(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A stand-in ``c4.jobs`` that records calls (the real one runs Spark / trains models)."""
    calls: dict[str, Any] = {}
    module = types.ModuleType("c4.jobs")

    def settings_from_job_args(args: dict[str, str]) -> Settings:
        calls["args"] = dict(args)
        return Settings(
            lake=args["lake"], stage=args.get("stage", "local"), glue_database=args.get("glue_database")
        )

    def recorder(name: str) -> Any:
        def run(settings: Settings, **kwargs: Any) -> dict[str, Any]:
            calls[name] = (settings, kwargs)
            return {"step": name, "version": "v1"} if name == "run_train" else {"step": name}

        return run

    module.settings_from_job_args = settings_from_job_args  # type: ignore[attr-defined]
    for name in ("run_generate", "run_elt", "run_features", "run_train", "run_promote", "run_monitor"):
        setattr(module, name, recorder(name))
    monkeypatch.setitem(sys.modules, "c4.jobs", module)
    return calls


def test_resolve_args_reads_only_the_options_present(entry: types.ModuleType) -> None:
    argv = ["script.py", "--JOB_NAME", "c4-dev-elt", "--lake", "s3://b", "--run_id", "r1", "--extra", "x"]
    assert entry.resolve_args(argv, ("lake", "stage", "run_id")) == {"lake": "s3://b", "run_id": "r1"}


def test_train_script_records_its_result_for_the_gate(
    entry: types.ModuleType, fake_jobs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    monkeypatch.setattr(sys, "argv", ["train.py", "--lake", str(lake), "--stage", "dev", "--run_id", "run-7"])
    runpy.run_path(str(GLUE_JOBS / "train.py"), run_name="__main__")
    settings, kwargs = fake_jobs["run_train"]
    assert settings.lake == str(lake) and kwargs == {}
    doc = json.loads((lake / "manifests/pipeline/run-7/train.json").read_text())
    assert doc == {"step": "train", "run_id": "run-7", "result": {"step": "run_train", "version": "v1"}}


def test_generate_passes_the_mall_ids_and_writes_nothing_without_run_id(
    entry: types.ModuleType, fake_jobs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["generate.py", "--lake", str(tmp_path), "--mall_ids", "CL01,PE02"])
    runpy.run_path(str(GLUE_JOBS / "generate.py"), run_name="__main__")
    assert fake_jobs["run_generate"][1] == {"mall_ids": ["CL01", "PE02"]}
    assert not (tmp_path / "manifests").exists()


def test_promote_passes_the_version(
    entry: types.ModuleType, fake_jobs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["promote.py", "--lake", str(tmp_path), "--version", "v42"])
    runpy.run_path(str(GLUE_JOBS / "promote.py"), run_name="__main__")
    assert fake_jobs["run_promote"][1] == {"version": "v42"}


def test_pseudonym_key_comes_from_secrets_manager(
    entry: types.ModuleType, fake_jobs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="c4-dev/pseudonym-key", SecretString="k" * 64
        )["ARN"]
        settings = entry.build_settings({"lake": str(tmp_path), "pseudonym_secret_arn": arn})
    assert settings.pseudonym_key == "k" * 64
    assert "k" * 64 not in repr(settings)
