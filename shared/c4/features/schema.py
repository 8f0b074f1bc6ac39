"""The one declaration of the guest features: names, types, kinds and plain-word meanings.

This module is imported by :mod:`c4.tables` (the Glue catalogue columns of
``customer_features``) and by the CDK stack, so it imports nothing heavy: no DuckDB, no
pandas.  :data:`FEATURE_SPECS` (used for models and reason codes) and
:data:`FEATURE_COLUMNS` (the table's columns) are both derived from :data:`_DECLARATION`.

``risk_direction`` says how a value relates to churn risk in plain words: ``+1`` a higher
value means a riskier guest, ``-1`` a lower value means a riskier guest, ``0`` no fixed
direction (categories, profiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class FeatureSpec:
    """Metadata of one guest feature.

    Parameters
    ----------
    name : str
        Column name in ``customer_features`` and in the training frame.
    kind : {"numeric", "categorical"}
        How a model should treat the column.
    description_es, description_en : str
        Plain-word meaning (Spanish / English) used in reason codes and reports.
    risk_direction : int
        ``+1`` higher value = riskier, ``-1`` lower value = riskier, ``0`` unknown.
    athena_type : str
        Athena (Hive DDL) type of the column.
    family : str
        Feature family (recency, frequency, gaps, ...), for reports.
    """

    name: str
    kind: Kind
    description_es: str
    description_en: str
    risk_direction: int
    athena_type: str = "double"
    family: str = ""


# (name, athena type, kind, risk direction, family, Spanish, English)
_DECLARATION: tuple[tuple[str, str, Kind, int, str, str, str], ...] = (
    # -- recency and frequency ------------------------------------------------------------
    (
        "days_since_last_visit",
        "int",
        "numeric",
        +1,
        "recency",
        "días desde la última visita",
        "days since the last visit",
    ),
    (
        "tenure_days",
        "int",
        "numeric",
        -1,
        "recency",
        "días desde la primera visita (antigüedad)",
        "days since the first visit (tenure)",
    ),
    ("visits_total", "int", "numeric", -1, "frequency", "visitas en total", "visits in total"),
    (
        "visits_7d",
        "int",
        "numeric",
        -1,
        "frequency",
        "visitas en los últimos 7 días",
        "visits in the last 7 days",
    ),
    (
        "visits_30d",
        "int",
        "numeric",
        -1,
        "frequency",
        "visitas en los últimos 30 días",
        "visits in the last 30 days",
    ),
    (
        "visits_90d",
        "int",
        "numeric",
        -1,
        "frequency",
        "visitas en los últimos 90 días",
        "visits in the last 90 days",
    ),
    (
        "visits_180d",
        "int",
        "numeric",
        -1,
        "frequency",
        "visitas en los últimos 180 días",
        "visits in the last 180 days",
    ),
    (
        "visits_trend_30d",
        "double",
        "numeric",
        -1,
        "frequency",
        "cambio de visitas del último mes frente a los dos meses anteriores",
        "change in visits in the last month versus the two months before",
    ),
    (
        "visits_per_month",
        "double",
        "numeric",
        -1,
        "frequency",
        "visitas por mes desde la primera visita",
        "visits per month since the first visit",
    ),
    # -- gaps between visit days -----------------------------------------------------------
    (
        "gap_mean_days",
        "double",
        "numeric",
        +1,
        "gaps",
        "días promedio entre visitas",
        "average days between visits",
    ),
    (
        "gap_std_days",
        "double",
        "numeric",
        0,
        "gaps",
        "irregularidad de los días entre visitas",
        "irregularity of the days between visits",
    ),
    (
        "gap_last_days",
        "double",
        "numeric",
        +1,
        "gaps",
        "días entre las dos últimas visitas",
        "days between the last two visits",
    ),
    (
        "overdue_ratio",
        "double",
        "numeric",
        +1,
        "gaps",
        "retraso respecto de su frecuencia habitual",
        "how overdue the guest is versus the usual gap",
    ),
    # -- dwell and engagement --------------------------------------------------------------
    (
        "dwell_mean_min",
        "double",
        "numeric",
        -1,
        "dwell",
        "minutos promedio por visita",
        "average minutes per visit",
    ),
    (
        "dwell_trend",
        "double",
        "numeric",
        -1,
        "dwell",
        "permanencia reciente frente a la habitual",
        "recent time in the mall versus the usual",
    ),
    (
        "sessions_per_visit",
        "double",
        "numeric",
        -1,
        "dwell",
        "zonas recorridas por visita",
        "zone sessions per visit",
    ),
    # -- zones and malls -------------------------------------------------------------------
    ("n_malls", "int", "numeric", -1, "places", "malls distintos visitados", "different malls visited"),
    ("n_zones", "int", "numeric", -1, "places", "zonas distintas visitadas", "different zones visited"),
    ("home_mall_id", "string", "categorical", 0, "places", "mall habitual", "usual mall"),
    (
        "home_mall_share",
        "double",
        "numeric",
        -1,
        "places",
        "parte de las visitas en su mall habitual",
        "share of visits at the usual mall",
    ),
    ("favourite_zone", "string", "categorical", 0, "places", "zona favorita", "favourite zone"),
    (
        "home_country",
        "string",
        "categorical",
        0,
        "places",
        "país del mall habitual",
        "country of the usual mall",
    ),
    (
        "home_mall_size",
        "string",
        "categorical",
        0,
        "places",
        "tamaño del mall habitual",
        "size of the usual mall",
    ),
    # -- when -------------------------------------------------------------------------------
    (
        "weekend_share",
        "double",
        "numeric",
        0,
        "time",
        "parte de las visitas en fin de semana",
        "share of visits on weekends",
    ),
    (
        "evening_share",
        "double",
        "numeric",
        0,
        "time",
        "parte de las visitas desde las 18:00",
        "share of visits from 18:00 on",
    ),
    ("mean_visit_hour", "double", "numeric", 0, "time", "hora habitual de llegada", "usual arrival hour"),
    (
        "holiday_visit_share",
        "double",
        "numeric",
        0,
        "time",
        "parte de las visitas en feriados",
        "share of visits on public holidays",
    ),
    (
        "payday_visit_share",
        "double",
        "numeric",
        0,
        "time",
        "parte de las visitas en días de pago",
        "share of visits around paydays",
    ),
    # -- WiFi and device --------------------------------------------------------------------
    (
        "signal_mean_dbm",
        "double",
        "numeric",
        -1,
        "wifi",
        "calidad de la señal WiFi (dBm)",
        "WiFi signal quality (dBm)",
    ),
    (
        "failed_logins_per_visit",
        "double",
        "numeric",
        +1,
        "wifi",
        "intentos fallidos de conexión por visita",
        "failed WiFi logins per visit",
    ),
    (
        "mb_per_visit",
        "double",
        "numeric",
        -1,
        "wifi",
        "datos usados por visita (MB)",
        "data used per visit (MB)",
    ),
    ("device_os", "string", "categorical", 0, "wifi", "sistema del teléfono", "phone operating system"),
    ("login_method", "string", "categorical", 0, "wifi", "forma de conexión al WiFi", "WiFi login method"),
    # -- mall context -----------------------------------------------------------------------
    (
        "mall_visits_trend",
        "double",
        "numeric",
        -1,
        "mall",
        "tendencia de visitas de su mall habitual",
        "visit trend of the usual mall",
    ),
    (
        "mall_base_churn_rate",
        "double",
        "numeric",
        +1,
        "mall",
        "tasa de abandono reciente de su mall habitual",
        "recent churn rate of the usual mall",
    ),
    # -- customer-base models (Pareto/NBD, BG/NBD) -------------------------------------------
    (
        "pnbd_p_alive",
        "double",
        "numeric",
        -1,
        "model",
        "probabilidad de seguir siendo cliente (Pareto/NBD)",
        "probability the guest is still active (Pareto/NBD)",
    ),
    (
        "pnbd_expected_visits",
        "double",
        "numeric",
        -1,
        "model",
        "visitas esperadas en los próximos 60 días (Pareto/NBD)",
        "expected visit days in the next 60 days (Pareto/NBD)",
    ),
    (
        "bgnbd_expected_visits",
        "double",
        "numeric",
        -1,
        "model",
        "visitas esperadas en los próximos 60 días (BG/NBD)",
        "expected visit days in the next 60 days (BG/NBD)",
    ),
)

#: Every guest feature, in column order.
FEATURE_SPECS: tuple[FeatureSpec, ...] = tuple(
    FeatureSpec(
        name=n, kind=k, description_es=es, description_en=en, risk_direction=d, athena_type=t, family=fam
    )
    for n, t, k, d, fam, es, en in _DECLARATION
)

#: Feature names in column order.
FEATURE_NAMES: tuple[str, ...] = tuple(s.name for s in FEATURE_SPECS)

#: Columns of ``customer_features`` (name, Athena type), partition ``as_of_date`` excluded.
FEATURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_id", "string"),
    *((s.name, s.athena_type) for s in FEATURE_SPECS),
)

#: Feature metadata by name.
SPECS_BY_NAME: dict[str, FeatureSpec] = {s.name: s for s in FEATURE_SPECS}

#: Categorical feature names.
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(s.name for s in FEATURE_SPECS if s.kind == "categorical")

#: Numeric feature names.
NUMERIC_FEATURES: tuple[str, ...] = tuple(s.name for s in FEATURE_SPECS if s.kind == "numeric")
