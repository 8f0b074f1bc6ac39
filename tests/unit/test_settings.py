"""Settings: read at the edge, explicit values win, keys handled safely."""

from __future__ import annotations

import dataclasses

import pytest
from c4.exceptions import ConfigurationError
from c4.settings import ENV, Settings


def test_from_env_reads_names_defined_once() -> None:
    # Given an environment using the shared variable names
    env = {ENV["lake"]: "/data/lake", ENV["stage"]: "dev", ENV["pseudonym_key"]: "k" * 20}
    # When settings are built
    s = Settings.from_env(env)
    # Then every value is taken
    assert (s.lake, s.stage, s.pseudonym_key) == ("/data/lake", "dev", "k" * 20)


def test_explicit_override_wins_and_none_is_ignored() -> None:
    env = {ENV["lake"]: "/from/env"}
    assert Settings.from_env(env, lake="/explicit").lake == "/explicit"
    assert Settings.from_env(env, lake=None).lake == "/from/env"


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().lake = "x"  # type: ignore[misc]


def test_local_key_is_created_once_and_reused(tmp_path) -> None:
    s = Settings(lake=str(tmp_path))
    first = s.resolve_pseudonym_key()
    assert len(first) >= 32
    assert s.resolve_pseudonym_key() == first
    assert (tmp_path / ".c4" / "pseudonym.key").stat().st_mode & 0o077 == 0


def test_s3_lake_requires_a_key() -> None:
    with pytest.raises(ConfigurationError, match="C4_PSEUDONYM_KEY"):
        Settings(lake="s3://bucket/lake").resolve_pseudonym_key()


def test_short_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="16"):
        Settings(pseudonym_key="short").resolve_pseudonym_key()


def test_key_is_not_in_repr() -> None:
    assert "secret-value" not in repr(Settings(pseudonym_key="secret-value-123456"))
