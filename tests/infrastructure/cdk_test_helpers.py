"""Helpers shared by the infrastructure tests (template digging)."""

from __future__ import annotations

import json
from typing import Any


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_of_role(synth: Any, role: Any) -> list[dict[str, Any]]:
    """All policy statements attached (as AWS::IAM::Policy) to a role."""
    role_ref = {"Ref": synth.logical_id(role)}
    out: list[dict[str, Any]] = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if role_ref in policy["Properties"]["Roles"]:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def definition_of(synth: Any) -> dict[str, Any]:
    """The state machine definition with CloudFormation tokens replaced by ``<<...>>`` markers."""
    _, machine = synth.one("AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "<<" + json.dumps(p).replace('"', "'") + ">>" for p in parts)
    return json.loads(text)
