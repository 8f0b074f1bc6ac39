"""Per-stage settings of the deployment (dev, staging, prod): names, retention and sizes.

One frozen :class:`StageConfig` per stage; the stack reads sizes from here and nowhere else.
Select a stage with ``cdk synth -c stage=dev`` (``app.py`` reads the context at the edge).
"""

from __future__ import annotations

from dataclasses import dataclass

from c4.malls import MALLS


@dataclass(frozen=True, kw_only=True)
class GlueSize:
    """Workers of one Glue job: worker type name (``G.1X``), count and timeout."""

    worker_type: str = "G.1X"
    workers: int = 2
    timeout_minutes: int = 60


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Everything that differs between dev, staging and prod.

    Attributes
    ----------
    name : str
        Stage name, also the suffix of every physical name (``c4-<name>-...``).
    retain_data : bool
        Keep buckets, keys, tables and the secret when the stack is deleted (RemovalPolicy.RETAIN);
        otherwise they are destroyed with it (buckets emptied first).
    log_retention_days : int
        Retention of CloudWatch log groups (one of CloudWatch's allowed values).
    raw_infrequent_access_days, raw_glacier_days : int
        Lifecycle of the immutable ``raw/`` zone (``raw_glacier_days=0``: never).
    quarantine_expire_days, athena_results_expire_days, access_logs_expire_days : int
        Expiry of rejected data, query results and server access logs.
    noncurrent_versions_expire_days : int
        How long overwritten or deleted object versions of the lake are kept.
    glue : dict[str, GlueSize]
        Size of each Glue job by step name (``generate``, ``elt``, ``features``, ``train``,
        ``promote``, ``monitor``).
    generate_mall_ids : tuple[str, ...]
        Malls the synthetic generator fans out over when a run asks for generation.
    schedule_cron : str
        EventBridge cron expression of the retraining pipeline (UTC).
    schedule_enabled : bool
        Whether the retraining schedule is switched on.
    generate_on_schedule : bool
        Whether a scheduled run regenerates synthetic data first (never in prod).
    scoring_batch_size, scoring_max_batching_window_s : int
        SQS event source batching of the scoring Lambda.
    scoring_reserved_concurrency : int
        Reserved concurrency of the scoring Lambda (caps the load on the lake).
    scoring_memory_mb, scoring_timeout_s : int
        Size of the scoring Lambda.
    queue_max_receive_count : int
        Receives before a message goes to the dead-letter queue.
    oldest_message_alarm_s : int
        Age of the oldest message on the scoring queue that raises the alarm.
    """

    name: str
    retain_data: bool
    log_retention_days: int
    raw_infrequent_access_days: int
    raw_glacier_days: int
    quarantine_expire_days: int
    athena_results_expire_days: int
    access_logs_expire_days: int
    noncurrent_versions_expire_days: int
    glue: dict[str, GlueSize]
    generate_mall_ids: tuple[str, ...]
    schedule_cron: str
    schedule_enabled: bool
    generate_on_schedule: bool
    scoring_batch_size: int
    scoring_max_batching_window_s: int
    scoring_reserved_concurrency: int
    scoring_memory_mb: int
    scoring_timeout_s: int
    queue_max_receive_count: int = 3
    oldest_message_alarm_s: int = 900

    @property
    def prefix(self) -> str:
        """Prefix of physical names: ``c4-<stage>``."""
        return f"c4-{self.name}"

    @property
    def glue_database(self) -> str:
        """Glue Data Catalog database name (underscores: Athena-friendly)."""
        return f"c4_{self.name}"

    def glue_size(self, step: str) -> GlueSize:
        """Size of the Glue job of ``step`` (the default size when not listed)."""
        return self.glue.get(step, GlueSize())


_ALL_MALLS = tuple(m.mall_id for m in MALLS)

_SMALL = GlueSize(worker_type="G.1X", workers=2, timeout_minutes=60)

STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        name="dev",
        retain_data=False,
        log_retention_days=14,
        raw_infrequent_access_days=30,
        raw_glacier_days=0,
        quarantine_expire_days=30,
        athena_results_expire_days=7,
        access_logs_expire_days=30,
        noncurrent_versions_expire_days=7,
        glue={"generate": _SMALL, "elt": _SMALL, "features": _SMALL, "train": _SMALL, "monitor": _SMALL},
        generate_mall_ids=_ALL_MALLS[:3],
        schedule_cron="cron(0 6 ? * MON *)",
        schedule_enabled=False,
        generate_on_schedule=True,
        scoring_batch_size=5,
        scoring_max_batching_window_s=5,
        scoring_reserved_concurrency=2,
        scoring_memory_mb=2048,
        scoring_timeout_s=300,
    ),
    "staging": StageConfig(
        name="staging",
        retain_data=False,
        log_retention_days=30,
        raw_infrequent_access_days=30,
        raw_glacier_days=0,
        quarantine_expire_days=90,
        athena_results_expire_days=30,
        access_logs_expire_days=90,
        noncurrent_versions_expire_days=30,
        glue={
            "generate": _SMALL,
            "elt": GlueSize(worker_type="G.1X", workers=4, timeout_minutes=90),
            "features": GlueSize(worker_type="G.2X", workers=2, timeout_minutes=90),
            "train": GlueSize(worker_type="G.2X", workers=2, timeout_minutes=180),
            "monitor": _SMALL,
        },
        generate_mall_ids=_ALL_MALLS[:6],
        schedule_cron="cron(0 6 ? * MON *)",
        schedule_enabled=True,
        generate_on_schedule=True,
        scoring_batch_size=10,
        scoring_max_batching_window_s=10,
        scoring_reserved_concurrency=5,
        scoring_memory_mb=3008,
        scoring_timeout_s=300,
    ),
    "prod": StageConfig(
        name="prod",
        retain_data=True,
        log_retention_days=365,
        raw_infrequent_access_days=30,
        raw_glacier_days=180,
        quarantine_expire_days=365,
        athena_results_expire_days=30,
        access_logs_expire_days=365,
        noncurrent_versions_expire_days=90,
        glue={
            "generate": _SMALL,
            "elt": GlueSize(worker_type="G.1X", workers=10, timeout_minutes=120),
            "features": GlueSize(worker_type="G.2X", workers=4, timeout_minutes=120),
            "train": GlueSize(worker_type="G.2X", workers=2, timeout_minutes=240),
            "monitor": _SMALL,
        },
        generate_mall_ids=_ALL_MALLS,
        schedule_cron="cron(0 5 ? * SUN *)",
        schedule_enabled=True,
        generate_on_schedule=False,
        scoring_batch_size=10,
        scoring_max_batching_window_s=10,
        scoring_reserved_concurrency=20,
        scoring_memory_mb=3008,
        scoring_timeout_s=300,
        oldest_message_alarm_s=1800,
    ),
}


def stage_config(name: str) -> StageConfig:
    """The configuration of stage ``name``.

    Raises
    ------
    ValueError
        If the stage is unknown.
    """
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; expected one of {sorted(STAGES)}") from None
