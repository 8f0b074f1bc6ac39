"""The intent model: which of the supported questions a user asked.

A small, deterministic text classifier (character and word n-gram TF-IDF + logistic
regression, scikit-learn) trained at first use on the packaged examples
(``intents.yaml``).  Entities are masked before classification (``zmall``, ``zcountry``,
``zguest``, ``znum``, ``zpct``) so that the model learns the shape of a question, not names.
Character n-grams make it robust to typos and to Spanish/English inflections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from threadpoolctl import threadpool_limits

from c4.chat.text import ascii_fold, tokens

#: Pseudo-intents of the model that are not answered by a query.
FOLLOWUP = "followup"
UNSUPPORTED = "unsupported"
_PLACEHOLDERS = {
    "{mall}": " zmall ",
    "{country}": " zcountry ",
    "{guest}": " zguest ",
    "{n}": " znum ",
    "{pct}": " zpct ",
}


@dataclass(frozen=True)
class IntentSpec:
    """One intent: name, plain-words help in both languages and training examples."""

    name: str
    help_es: str
    help_en: str
    examples: tuple[str, ...]


@lru_cache(maxsize=1)
def intent_specs() -> dict[str, IntentSpec]:
    """The intents of ``intents.yaml`` in file order."""
    text = resources.files("c4.chat").joinpath("intents.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    return {
        name: IntentSpec(name, body.get("help_es", ""), body.get("help_en", ""), tuple(body["examples"]))
        for name, body in raw.items()
    }


def answerable_intents() -> list[IntentSpec]:
    """Intents the chat answers (without the follow-up and unsupported pseudo-intents)."""
    return [s for s in intent_specs().values() if s.name not in (FOLLOWUP, UNSUPPORTED)]


def mask_example(text: str) -> str:
    """Turn a training example with placeholders into the masked form the model sees."""
    for placeholder, token in _PLACEHOLDERS.items():
        text = text.replace(placeholder, token)
    return " ".join(tokens(ascii_fold(text)))


class IntentModel:
    """Character/word n-gram classifier over masked questions.

    Parameters
    ----------
    specs : dict of IntentSpec
        Intents with their examples.
    """

    def __init__(self, specs: dict[str, IntentSpec]) -> None:
        texts, labels = [], []
        for spec in specs.values():
            for example in spec.examples:
                texts.append(mask_example(example))
                labels.append(spec.name)
        features = FeatureUnion(
            [
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                (
                    "words",
                    TfidfVectorizer(
                        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[a-zñ0-9]+"
                    ),
                ),
            ]
        )
        self.pipeline = Pipeline(
            [("features", features), ("model", LogisticRegression(C=20.0, max_iter=5000))]
        )
        # One BLAS/OpenMP thread: the problem is tiny, and on a busy machine oversubscribed
        # thread pools make the fit ten times slower.
        with threadpool_limits(limits=1):
            self.pipeline.fit(texts, labels)
        self.classes: list[str] = [str(c) for c in self.pipeline.classes_]

    def rank(self, masked: str) -> list[tuple[str, float]]:
        """Intents with their probabilities, most likely first."""
        if not re.search(r"[a-zñ]", masked):
            return [(UNSUPPORTED, 1.0)]
        probs = self.pipeline.predict_proba([masked])[0]
        return sorted(zip(self.classes, (float(p) for p in probs), strict=True), key=lambda x: -x[1])


@lru_cache(maxsize=1)
def intent_model() -> IntentModel:
    """The intent model, trained once per process on the packaged examples."""
    return IntentModel(intent_specs())
