"""C4 - Customer Churn and Contextual Chat.

The domain library shared by the CLI, the Glue job scripts and the Lambda handlers.
Modules are split by pipeline stage: ``generate`` (synthetic WiFi data), ``elt``
(raw -> curated), ``features`` (point-in-time features and labels), ``modeling``
(training, registry), ``scoring``, ``queries`` and ``chat``.  Storage goes through
:class:`c4.storage.Lake`; configuration through :class:`c4.settings.Settings`.
"""

__version__ = "0.1.0"
