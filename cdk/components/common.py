"""Small helpers shared by the constructs (stage settings -> CDK values)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from cdk.stages import StageConfig

_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}


def log_retention(stage: StageConfig) -> logs.RetentionDays:
    """CloudWatch Logs retention of the stage.

    Raises
    ------
    ValueError
        If the stage's ``log_retention_days`` is not one CloudWatch allows (here).
    """
    try:
        return _RETENTION[stage.log_retention_days]
    except KeyError:
        raise ValueError(f"log_retention_days must be one of {sorted(_RETENTION)}") from None


def removal_policy(stage: StageConfig) -> RemovalPolicy:
    """RETAIN for stages that keep their data, DESTROY otherwise."""
    return RemovalPolicy.RETAIN if stage.retain_data else RemovalPolicy.DESTROY
