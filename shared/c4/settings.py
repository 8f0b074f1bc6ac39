"""Typed, frozen configuration read once at the edge (CLI, Glue job, Lambda handler).

Environment-variable names are defined once here (:data:`ENV`) and are used both by the
runtime code and by the CDK stacks that set them.  Library code never reads ``os.environ``:
it receives a :class:`Settings`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from c4.exceptions import ConfigurationError

#: Environment variable names, shared by runtime code and CDK.
ENV = {
    "lake": "C4_LAKE",
    "pseudonym_key": "C4_PSEUDONYM_KEY",
    "stage": "C4_STAGE",
    "aws_region": "AWS_REGION",
    "s3_endpoint_url": "C4_S3_ENDPOINT_URL",
    "glue_database": "C4_GLUE_DATABASE",
}

DEFAULT_LAKE = "./lake"
_LOCAL_KEY_FILE = ".c4/pseudonym.key"


@dataclass(frozen=True)
class Settings:
    """Configuration of one C4 process.

    Parameters
    ----------
    lake : str
        Lake root: a local folder or ``s3://bucket/prefix``.
    pseudonym_key : str or None
        Secret key of the keyed hash (HMAC-SHA256) that pseudonymises guest identifiers.
        ``None`` on a local lake means "use (or create) the lake's own key file".
    stage : str
        Deployment stage name (``local``, ``dev``, ``staging``, ``prod``).
    aws_region : str or None
        AWS region for S3 / Glue / Athena access.
    s3_endpoint_url : str or None
        Custom S3 endpoint (tests use a local moto server).
    glue_database : str or None
        Glue Data Catalog database that holds the Athena tables (AWS only).
    """

    lake: str = DEFAULT_LAKE
    pseudonym_key: str | None = field(default=None, repr=False)
    stage: str = "local"
    aws_region: str | None = None
    s3_endpoint_url: str | None = None
    glue_database: str | None = None

    @property
    def is_s3(self) -> bool:
        """Whether the lake lives on S3."""
        return self.lake.startswith("s3://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from environment variables, explicit overrides winning.

        Parameters
        ----------
        env : Mapping[str, str], optional
            The environment to read (defaults to ``os.environ``).
        **overrides
            Explicit values; ``None`` values are ignored so CLI options can be passed through.

        Returns
        -------
        Settings
        """
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, var in ENV.items():
            if var in source and source[var] != "":
                values[name] = source[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_lake(self, lake: str | None) -> Settings:
        """Return a copy pointing at another lake (``None`` keeps the current one)."""
        return self if lake is None else replace(self, lake=str(lake))

    def resolve_pseudonym_key(self) -> bytes:
        """Return the HMAC key as bytes.

        On a local lake with no key configured, a random key is created once in
        ``<lake>/.c4/pseudonym.key`` (mode 0600) and reused, so re-runs give the same
        pseudonyms.  On S3 a key must be configured (``C4_PSEUDONYM_KEY``).

        Raises
        ------
        ConfigurationError
            If the lake is on S3 and no key is configured, or the key is too short.
        """
        if self.pseudonym_key:
            key = self.pseudonym_key.encode("utf-8")
            if len(key) < 16:
                raise ConfigurationError("C4_PSEUDONYM_KEY must be at least 16 characters long")
            return key
        if self.is_s3:
            raise ConfigurationError(
                "a lake on S3 needs a pseudonymisation key: set C4_PSEUDONYM_KEY "
                "(in AWS it comes from Secrets Manager)"
            )
        path = Path(self.lake) / _LOCAL_KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
