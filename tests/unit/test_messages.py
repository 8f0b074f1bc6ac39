"""Retention message templates: each reachable, filled, in Spanish, without identifiers."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from c4.features.schema import FEATURE_NAMES, SPECS_BY_NAME
from c4.malls import MALLS, MALLS_BY_ID
from c4.scoring.messages import (
    CONTEXT_FEATURES,
    TEMPLATES,
    ZONE_WORDS,
    contract,
    guest_context,
    message_template,
    retention_message,
    retention_messages,
    retention_messages_frame,
    template_for,
)

GUEST = {
    "customer_id": "9f" * 32,
    "home_mall_id": "CL01",
    "favourite_zone": "patio_comidas",
    "weekend_share": 0.7,
    "mean_visit_hour": 18.4,
}

# One main-reason feature per template (a real feature name of c4.features each).
REACHING = {
    "ausencia": "days_since_last_visit",
    "frecuencia": "visits_30d",
    "permanencia": "dwell_mean_min",
    "wifi": "failed_logins_per_visit",
    "exploracion": "n_zones",
    "nuevo": "tenure_days",
    "mall": "mall_base_churn_rate",
    "general": "weekend_share",
}


def test_context_features_are_real_feature_names() -> None:
    assert set(CONTEXT_FEATURES) <= set(FEATURE_NAMES)
    assert set(REACHING.values()) <= set(FEATURE_NAMES)


@pytest.mark.parametrize(("key", "feature"), sorted(REACHING.items()))
def test_every_template_is_reachable_and_filled(key: str, feature: str) -> None:
    # Given a guest whose main reason belongs to the template's family
    # When the message is built
    text = retention_message(GUEST, feature)
    # Then the template is the expected one, every placeholder is filled with the context
    assert template_for(feature).key == key
    assert "{" not in text and "}" not in text
    assert "Mall Cordillera Ñuñoa" in text  # accents intact
    if "{zona}" in TEMPLATES[key].text:
        assert "el patio de comidas" in text
    assert "este fin de semana por la tarde" in text
    # and no identifier leaks into it
    assert GUEST["customer_id"] not in text and "CL01" not in text


def test_all_templates_covered_by_the_reaching_table() -> None:
    assert set(REACHING) == set(TEMPLATES)


def test_every_feature_maps_to_some_template_and_unknowns_fall_back() -> None:
    for name in FEATURE_NAMES:
        assert template_for(name).key in TEMPLATES
    assert template_for(None).key == "general"
    assert template_for("a_feature_nobody_defined").key == "general"
    # families route as documented
    assert template_for("overdue_ratio").key == "ausencia"
    assert template_for("signal_mean_dbm").key == "wifi"
    assert SPECS_BY_NAME["signal_mean_dbm"].family == "wifi"


@pytest.mark.parametrize(
    ("weekend", "hour", "expected"),
    [
        (0.1, 10.0, "esta semana por la mañana"),
        (0.5, 12.0, "este fin de semana por la tarde"),
        (0.2, 20.5, "esta semana por la noche"),
        (None, None, "esta semana"),
        (float("nan"), float("nan"), "esta semana"),
    ],
)
def test_usual_day_and_time(weekend, hour, expected) -> None:
    assert guest_context({"weekend_share": weekend, "mean_visit_hour": hour})["cuando"] == expected


def test_unknown_or_hostile_context_gives_generic_words_not_raw_text() -> None:
    # Given a guest whose context holds text from an uploaded file (an unknown zone with a
    # formula, an unknown mall id)
    hostile = {
        "home_mall_id": '=HYPERLINK("http://evil")',
        "favourite_zone": "=cmd|' /C calc'!A0",
        "weekend_share": None,
        "mean_visit_hour": None,
    }
    text = retention_message(hostile, "days_since_last_visit")
    # Then only closed-vocabulary words are used
    assert "HYPERLINK" not in text and "cmd" not in text and "=" not in text
    assert "nuestro mall" in text and "tus tiendas favoritas" in text


def test_every_mall_and_zone_has_words() -> None:
    from c4.malls import ZONE_CATALOGUE

    assert set(ZONE_WORDS) == set(ZONE_CATALOGUE)
    for mall in MALLS:
        assert guest_context({"home_mall_id": mall.mall_id})["mall"] == MALLS_BY_ID[mall.mall_id].name


def test_no_message_below_threshold() -> None:
    rows = [GUEST, {**GUEST, "favourite_zone": "cine"}, GUEST]
    out = retention_messages(rows, ["visits_30d", None, "dwell_trend"], [True, False, True])
    assert out[1] is None
    assert out[0] is not None and out[0].startswith("En Mall Cordillera Ñuñoa hay novedades")
    assert out[2] is not None and "café" in out[2]


def test_messages_are_spanish_sentences() -> None:
    for key, feature in REACHING.items():
        text = retention_message(GUEST, feature)
        assert re.search(r"[áéíóúñ¡¿]", text), key
        assert text.rstrip().endswith((".", "!")), key
        assert len(text) <= 200, key  # short enough for a push notification / SMS pair


def test_frame_messages_equal_the_row_by_row_ones() -> None:
    import pandas as pd

    # Given guests with every kind of context, known and unknown, and mixed risk
    rows = [
        GUEST,
        {**GUEST, "favourite_zone": "cine", "weekend_share": 0.2, "mean_visit_hour": 9.0},
        {**GUEST, "home_mall_id": "XX99", "favourite_zone": "=cmd", "weekend_share": None},
        {
            "customer_id": "a",
            "home_mall_id": None,
            "favourite_zone": None,
            "weekend_share": float("nan"),
            "mean_visit_hour": 21.0,
        },
        {**GUEST, "home_mall_id": MALLS[-1].mall_id},
    ]
    reasons = ["visits_30d", None, "signal_mean_dbm", "tenure_days", "days_since_last_visit"]
    risky = [True, True, True, True, False]
    # When messages are built for the whole frame at once
    out = retention_messages_frame(pd.DataFrame(rows), reasons, risky)
    # Then they are exactly the row-by-row messages
    assert out == retention_messages(rows, reasons, risky)
    assert out[4] is None and out[2] is not None and "nuestro mall" in out[2]
    # and a frame without context columns still gets generic words
    bare = retention_messages_frame(
        pd.DataFrame({"customer_id": ["a", "b"]}), [None, "n_zones"], [True, True]
    )
    assert bare == retention_messages([{}, {}], [None, "n_zones"], [True, True])


@pytest.mark.parametrize("feature", sorted(REACHING.values()))
@pytest.mark.parametrize("zone", sorted(ZONE_WORDS))
def test_messages_use_spanish_contractions(feature: str, zone: str) -> None:
    # Given any template and any zone whose words start with an article
    text = retention_message({**GUEST, "favourite_zone": zone}, feature)
    # Then "de el" / "a el" never appear: Spanish writes "del" / "al"
    assert not re.search(r"\b(de|a) el\b", text), text


def test_contraction_keeps_proper_names() -> None:
    assert contract("Además de el cine") == "Además del cine"
    assert contract("vuelve a el bulevar") == "vuelve al bulevar"
    assert contract("Mall de El Tesoro") == "Mall de El Tesoro"


@pytest.mark.parametrize("reason", ["days_since_last_visit", "signal_mean_dbm", None])
def test_a_guest_new_this_week_is_welcomed_not_missed(reason: str | None) -> None:
    # Given a guest whose first visit was two days ago, whatever the main reason
    guest = {**GUEST, "tenure_days": 2}
    # Then the message is the welcome one (row by row and frame-wide alike)
    assert message_template(reason, 2).key == "nuevo"
    text = retention_message(guest, reason)
    assert text.startswith("¡Gracias por visitar")
    frame = retention_messages_frame(pd.DataFrame([guest]), [reason], [True])
    assert frame == [text]
    # and a guest of long standing gets the template of the reason
    assert message_template("days_since_last_visit", 200).key == "ausencia"
    assert message_template("days_since_last_visit", float("nan")).key == "ausencia"
