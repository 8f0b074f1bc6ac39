"""Synthetic WiFi generator (module 1): what a mall chain's WiFi controllers export.

Public API::

    from c4.generate import GeneratorConfig, DirtConfig, generate, GenerationSummary
    from c4.generate import oracle_churn_probability, load_truth

See ``docs/generator.md`` for the behaviour model, the dirt catalogue and the oracle.
"""

from c4.generate.config import DirtConfig, GeneratorConfig
from c4.generate.core import GenerationSummary, generate
from c4.generate.dirt import REJECT_REASONS
from c4.generate.truth import load_truth, oracle_churn_probability

__all__ = [
    "REJECT_REASONS",
    "DirtConfig",
    "GenerationSummary",
    "GeneratorConfig",
    "generate",
    "load_truth",
    "oracle_churn_probability",
]
