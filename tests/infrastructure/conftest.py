"""Fixtures of the infrastructure tests: one synth per stage for the whole suite.

Every test module here sets ``pytestmark = [infra, xdist_group("infra")]``, so under
``pytest -n 2 --dist loadgroup`` all of them run in the same worker and each stage is synthesized
once (with the cdk-nag checks, which raise on any unacknowledged finding).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from cdk.jsii_node import use_bundled_node  # noqa: E402

use_bundled_node()


@dataclass(frozen=True)
class Synth:
    """A synthesized stage: the stack object, its template (dict and assertions) and the assembly."""

    stack: Any
    template: dict[str, Any]
    assertions: Any
    outdir: Path

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack.stack_name}.template.json"

    def resources(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == cfn_type}

    def one(self, cfn_type: str) -> tuple[str, dict[str, Any]]:
        """The single resource of a type (fails if there are several)."""
        found = self.resources(cfn_type)
        assert len(found) == 1, f"expected one {cfn_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def logical_id(self, construct: Any) -> str:
        """Logical id of an L2 construct's main resource."""
        return str(self.stack.resolve(self.stack.get_logical_id(construct.node.default_child)))


def _synth(stage: str, tmp: Path) -> Synth:
    from aws_cdk.assertions import Template

    from cdk.application import build_app

    outdir = tmp / f"cdk.out-{stage}"
    app, stack = build_app(stage_name=stage, repo_root=REPO_ROOT, build_dir=tmp / "build", outdir=str(outdir))
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    return Synth(stack=stack, template=template, assertions=Template.from_json(template), outdir=outdir)


@pytest.fixture(scope="session")
def infra_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def dev(infra_tmp: Path) -> Synth:
    """The dev stage, synthesized once (cdk-nag enabled)."""
    return _synth("dev", infra_tmp)


@pytest.fixture(scope="session")
def prod(infra_tmp: Path) -> Synth:
    """The prod stage, synthesized once (cdk-nag enabled)."""
    return _synth("prod", infra_tmp)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
