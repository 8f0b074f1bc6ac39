"""The exceptions C4 raises on purpose.  Every public error derives from :class:`C4Error`."""


class C4Error(Exception):
    """Base class of every error C4 raises on purpose."""


class ConfigurationError(C4Error):
    """Settings are missing or inconsistent (bad lake URI, missing key, ...)."""


class StorageError(C4Error):
    """The lake could not be read or written."""


class ContractError(C4Error):
    """Input data does not meet the data contract (``docs/data-contract.md``)."""


class UnreadableFileError(ContractError):
    """A raw file cannot be parsed at all; it is quarantined whole with this error."""


class ModelError(C4Error):
    """A model is missing, untrusted or broken."""


class QueryError(C4Error):
    """A named query is unknown or its parameters are invalid."""
