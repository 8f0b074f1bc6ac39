"""Contextual retention messages: a short Spanish message per guest at risk.

A message is chosen from :data:`TEMPLATES` by the *family* of the guest's main risk reason
(the top reason the model gives: recency, falling frequency, short dwell, bad WiFi, ...) and
filled with the guest's context from the feature frame: home mall (``home_mall_id``),
favourite zone (``favourite_zone``), usual days (``weekend_share``) and usual arrival hour
(``mean_visit_hour``).  Guests below the decision threshold get no message.

Only values from closed vocabularies reach a message (mall names from the mall dimension,
zone names from the zone catalogue, fixed day and time phrases), so no identifier and no
text from an uploaded file can ever appear in it.  The catalogue is documented in
``docs/scoring.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from c4.features.schema import SPECS_BY_NAME
from c4.malls import MALLS_BY_ID

#: Context feature columns the messages read (names defined by ``c4.features``).
CONTEXT_FEATURES = ("home_mall_id", "favourite_zone", "weekend_share", "mean_visit_hour", "tenure_days")

#: A guest whose first visit is this recent gets the welcome template whatever the main reason:
#: "we miss you" to someone who came for the first time this week reads wrong.
NEW_GUEST_DAYS = 7


@dataclass(frozen=True)
class Template:
    """One retention message template.

    Attributes
    ----------
    key : str
        Template id (stored nowhere; used in docs, tests and logs).
    when : str
        When the template applies, in plain words (documentation).
    text : str
        Spanish text with ``{mall}``, ``{zona}`` and ``{cuando}`` placeholders.
    """

    key: str
    when: str
    text: str


TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        Template(
            "ausencia",
            "recency / overdue: days since the last visit, overdue versus the usual gap, long gaps",
            "¡Te echamos de menos en {mall}! Vuelve {cuando} y te espera un regalo en {zona}.",
        ),
        Template(
            "frecuencia",
            "falling frequency: fewer visits lately, downward visit trend, few expected visits",
            "En {mall} hay novedades para ti: ven {cuando} y disfruta un beneficio exclusivo en {zona}.",
        ),
        Template(
            "permanencia",
            "short dwell: fewer minutes per visit than usual, few zones per visit",
            "La próxima vez que vengas a {mall}, tómate un café por nuestra cuenta en {zona}. "
            "¡Te esperamos {cuando}!",
        ),
        Template(
            "wifi",
            "bad WiFi: weak signal, failed logins, little data used",
            "Mejoramos el WiFi de {mall}: ahora te conectas más rápido y sin cortes. "
            "Pruébalo {cuando} en {zona}.",
        ),
        Template(
            "exploracion",
            "narrow use of the mall: few zones or malls, everything at one mall",
            "¿Ya conoces todo {mall}? Además de {zona}, {cuando} te invitamos a descubrir "
            "nuevas tiendas con un descuento de bienvenida.",
        ),
        Template(
            "nuevo",
            "new guest: short tenure",
            "¡Gracias por visitar {mall}! Vuelve {cuando} y te damos la bienvenida con un "
            "beneficio en {zona}.",
        ),
        Template(
            "mall",
            "mall context: the home mall's visits are falling or its guests are leaving",
            "En {mall} nos estamos renovando para ti: ven {cuando} a ver lo nuevo en {zona}.",
        ),
        Template(
            "general",
            "fallback: any other main reason (time habits, device, ...) or no reason",
            "¡Te esperamos en {mall}! Ven {cuando} y disfruta de {zona} con un beneficio especial para ti.",
        ),
    )
}

#: Features whose template is not simply their family's (feature name -> template key).
_BY_FEATURE = {
    "tenure_days": "nuevo",
    "pnbd_p_alive": "ausencia",
    "pnbd_expected_visits": "frecuencia",
    "bgnbd_expected_visits": "frecuencia",
}

#: Feature family (``FeatureSpec.family``) -> template key.
_BY_FAMILY = {
    "recency": "ausencia",
    "gaps": "ausencia",
    "frequency": "frecuencia",
    "dwell": "permanencia",
    "wifi": "wifi",
    "places": "exploracion",
    "mall": "mall",
}

#: The zone catalogue in words, with its article (``c4.malls.ZONE_CATALOGUE``).
ZONE_WORDS = {
    "entrada": "la entrada",
    "patio_comidas": "el patio de comidas",
    "tiendas_moda": "las tiendas de moda",
    "supermercado": "el supermercado",
    "cine": "el cine",
    "zona_infantil": "la zona infantil",
    "tecnologia": "la zona de tecnología",
    "gimnasio": "el gimnasio",
    "terraza": "la terraza",
    "bulevar": "el bulevar",
}
_ANY_ZONE = "tus tiendas favoritas"
_ANY_MALL = "nuestro mall"


_CONTRACTIONS = re.compile(r"\b(de|a) el\b")


def contract(text: str) -> str:
    """Spanish contractions after filling a template: "de el" -> "del", "a el" -> "al".

    Only the lowercase article contracts; a proper name ("de El Tesoro") stays as written.

    >>> contract("Además de el cine, ven a el bulevar de El Tesoro")
    'Además del cine, ven al bulevar de El Tesoro'
    """
    return _CONTRACTIONS.sub(lambda m: "del" if m.group(1) == "de" else "al", text)


def _is_new(tenure_days: Any) -> bool:
    value = _number(tenure_days)
    return value is not None and value < NEW_GUEST_DAYS


def message_template(feature: str | None, tenure_days: Any = None) -> Template:
    """The template for a guest: :func:`template_for` its main reason, or ``nuevo`` for a new guest.

    Parameters
    ----------
    feature : str or None
        Name of the top reason's feature.
    tenure_days : number, optional
        Days since the guest's first visit; under :data:`NEW_GUEST_DAYS` means a new guest.

    Returns
    -------
    Template

    Examples
    --------
    >>> message_template("days_since_last_visit", tenure_days=0).key
    'nuevo'
    >>> message_template("days_since_last_visit", tenure_days=200).key
    'ausencia'
    """
    return TEMPLATES["nuevo"] if _is_new(tenure_days) else template_for(feature)


def template_for(feature: str | None) -> Template:
    """The template for a guest whose main risk reason is ``feature``.

    Parameters
    ----------
    feature : str or None
        Name of the top reason's feature (``None`` when the model gave no reason).

    Returns
    -------
    Template
        The feature's own template, else its family's, else ``general``.

    Examples
    --------
    >>> template_for("days_since_last_visit").key
    'ausencia'
    >>> template_for(None).key
    'general'
    """
    if feature is None:
        return TEMPLATES["general"]
    if feature in _BY_FEATURE:
        return TEMPLATES[_BY_FEATURE[feature]]
    spec = SPECS_BY_NAME.get(feature)
    family = spec.family if spec is not None else ""
    return TEMPLATES[_BY_FAMILY.get(family, "general")]


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _when(weekend_share: Any, mean_hour: Any) -> str:
    share, hour = _number(weekend_share), _number(mean_hour)
    day = "este fin de semana" if share is not None and share >= 0.5 else "esta semana"
    if hour is None:
        return day
    if hour < 12:
        return f"{day} por la mañana"
    if hour < 19:
        return f"{day} por la tarde"
    return f"{day} por la noche"


def guest_context(features: Mapping[str, Any]) -> dict[str, str]:
    """The words a template is filled with, from one guest's features.

    Parameters
    ----------
    features : mapping
        One row of the feature frame (at least the :data:`CONTEXT_FEATURES` it has).

    Returns
    -------
    dict
        ``mall`` (the home mall's name), ``zona`` (favourite zone, with article) and
        ``cuando`` (usual days and time of day).  Unknown values fall back to generic words.
    """
    mall = MALLS_BY_ID.get(str(features.get("home_mall_id")))
    zone = ZONE_WORDS.get(str(features.get("favourite_zone")))
    return {
        "mall": mall.name if mall is not None else _ANY_MALL,
        "zona": zone or _ANY_ZONE,
        "cuando": _when(features.get("weekend_share"), features.get("mean_visit_hour")),
    }


def retention_message(features: Mapping[str, Any], main_reason: str | None) -> str:
    """The retention message for one guest at risk.

    Parameters
    ----------
    features : mapping
        The guest's feature row.
    main_reason : str or None
        Feature name of the guest's top risk reason.

    Returns
    -------
    str
        Spanish text, every placeholder filled.

    Examples
    --------
    >>> retention_message({"home_mall_id": "CL01", "favourite_zone": "cine",
    ...                    "weekend_share": 0.8, "mean_visit_hour": 20}, "signal_mean_dbm")
    'Mejoramos el WiFi de Mall Cordillera Ñuñoa: ahora te conectas más rápido y sin cortes. \
Pruébalo este fin de semana por la noche en el cine.'
    """
    template = message_template(main_reason, features.get("tenure_days"))
    return contract(template.text.format(**guest_context(features)))


def retention_messages(
    rows: Sequence[Mapping[str, Any]],
    main_reasons: Sequence[str | None],
    at_risk: Sequence[bool],
) -> list[str | None]:
    """Messages for many guests: one for each guest at risk, ``None`` for the others.

    Parameters
    ----------
    rows : sequence of mappings
        Feature rows, one per guest.
    main_reasons : sequence of str or None
        Each guest's top reason feature.
    at_risk : sequence of bool
        Whether the guest is at or above the decision threshold.

    Returns
    -------
    list of str or None
    """
    return [
        retention_message(row, reason) if risky else None
        for row, reason, risky in zip(rows, main_reasons, at_risk, strict=True)
    ]


def _when_column(weekend_share: pd.Series, mean_hour: pd.Series) -> np.ndarray:
    """:func:`_when` for a whole column pair."""
    share = pd.to_numeric(weekend_share, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    hour = pd.to_numeric(mean_hour, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    day = np.where(share >= 0.5, "este fin de semana", "esta semana").astype(object)
    part = np.select(
        [hour < 12, hour < 19, hour >= 19], [" por la mañana", " por la tarde", " por la noche"], ""
    )
    return np.asarray(day + part.astype(object))


def retention_messages_frame(
    features: pd.DataFrame, main_reasons: Sequence[str | None], at_risk: Sequence[bool] | np.ndarray
) -> list[str | None]:
    """:func:`retention_messages` for a whole feature frame, column-wise.

    Each distinct (template, mall, zone, day and time) is formatted once.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per guest, with the :data:`CONTEXT_FEATURES` it has.
    main_reasons : sequence of str or None
        Each guest's top reason feature.
    at_risk : sequence of bool
        Whether the guest is at or above the decision threshold.

    Returns
    -------
    list of str or None
        Equal to ``retention_messages(rows, main_reasons, at_risk)`` for the frame's rows.
    """
    n = len(features)
    risky = np.nonzero(np.asarray(at_risk, dtype=bool))[0]
    out: list[str | None] = [None] * n
    if not len(risky):
        return out

    def column(name: str) -> pd.Series:
        return features[name].iloc[risky] if name in features.columns else pd.Series([None] * len(risky))

    malls = _words(column("home_mall_id"), _mall_words)
    zones = _words(column("favourite_zone"), lambda z: ZONE_WORDS.get(str(z)) or _ANY_ZONE)
    when = _when_column(column("weekend_share"), column("mean_visit_hour"))
    tenure = pd.to_numeric(column("tenure_days").astype(object), errors="coerce").to_numpy(dtype=float)
    reasons = pd.Series([main_reasons[i] for i in risky.tolist()], dtype=object)
    keys = _words(reasons, lambda r: template_for(r).key)
    keys = np.where(tenure < NEW_GUEST_DAYS, "nuevo", keys.astype(object)).astype(object)
    parts = [pd.factorize(np.asarray(v, dtype=object)) for v in (keys, malls, zones, when.astype(str))]
    combined = np.zeros(len(risky), dtype=np.int64)
    for codes, uniques in parts:  # one integer per (template, mall, zone, day and time)
        combined = combined * len(uniques) + codes
    first, inverse = np.unique(combined, return_index=True, return_inverse=True)[1:]
    texts = np.array(
        [
            contract(TEMPLATES[k].text.format(mall=m, zona=z, cuando=c))
            for k, m, z, c in zip(*(u[c[first]] for c, u in parts), strict=True)
        ],
        dtype=object,
    )
    for i, text in zip(risky.tolist(), texts[inverse].tolist(), strict=True):
        out[i] = text
    return out


def _mall_words(value: Any) -> str:
    mall = MALLS_BY_ID.get(str(value))
    return mall.name if mall is not None else _ANY_MALL


def _words(values: pd.Series, word: Any) -> np.ndarray:
    """``word(v)`` for each value, computed once per distinct value (missing values included)."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=False)
    return np.array([word(None if _missing(u) else u) for u in uniques] + [""], dtype=object)[codes]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
