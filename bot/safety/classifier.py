"""The safety check's model: emergency, crisis or ordinary, from character and word n-grams.

Trained when the gateway starts (a few seconds) from ``nlu/safety/*.yml`` (emergencies,
crises and near misses written for it, kept apart from the evaluation set in
``tests/data/safety_*.yml``) and, as ordinary messages, everything the bot is trained on except
its emergency examples; so there is no model file to keep in step. It backs up the rules of
``knowledge/safety.yml``: the rules catch what editors named, the model catches paraphrases
("olen pelkkä taakka", hoarded pills). Its thresholds favour recall: a false alarm costs a
sentence, a miss may cost a life.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import scipy.sparse
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.core.errors import KnowledgeError
from bot.core.paths import NLU_DATA_DIRS, PROJECT_ROOT
from bot.core.text import fold, words

EXAMPLES_DIR = PROJECT_ROOT / "nlu" / "safety"
KINDS = ("emergency", "crisis", "ordinary")
# The probability at which a message counts as an emergency or a crisis: chosen by 5-fold
# cross-validation on the 2,760 written examples (the bot's own messages always in training).
# The model alone, at these: 93.7 % of emergencies, 93.8 % of crises, 5.7 % of the ordinary
# examples (mostly near misses) flagged; at 0.3/0.25 it was 95.1 % / 94.9 % / 8.3 %, at 0.5/0.4
# 92.1 % / 92.2 % / 4.6 %. The rules add to recall; a false alarm costs a sentence, a miss a life.
THRESHOLDS = {"emergency": 0.4, "crisis": 0.35}
MIN_KNOWN_SHARE = 0.5


class SafetyModel:
    """Probabilities of emergency / crisis / ordinary for a message."""

    def __init__(self, texts: list[str], kinds: list[str]) -> None:
        features = FeatureUnion(
            [
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), preprocessor=fold, sublinear_tf=True),
                ),
                ("words", TfidfVectorizer(ngram_range=(1, 2), preprocessor=fold, sublinear_tf=True)),
            ]
        )
        self._pipeline = Pipeline(
            [("features", features), ("model", LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000))]
        )
        self._pipeline.fit(texts, kinds)
        self._classes = [str(c) for c in self._pipeline.classes_]
        # Scoring one message through the fitted parts directly: the pipeline's FeatureUnion goes
        # through joblib for every call, about 19 % of the gateway's CPU at saturation (py-spy).
        self._vectorizers = [vectorizer for _, vectorizer in features.transformer_list]
        self._model = self._pipeline.named_steps["model"]
        self._vocabulary = {w for text in texts for w in words(text)}

    def known_share(self, text: str) -> float:
        """The share of the message's words (3+ letters) seen in the examples."""
        seen = [w for w in words(text) if len(w) >= 3]
        return sum(w in self._vocabulary for w in seen) / len(seen) if seen else 0.0

    def probabilities(self, text: str) -> dict[str, float]:
        """The model's probability of each kind for ``text`` (what the pipeline's predict_proba gives)."""
        features = scipy.sparse.hstack([vectorizer.transform([text]) for vectorizer in self._vectorizers]).tocsr()
        return dict(zip(self._classes, (float(p) for p in self._model.predict_proba(features)[0]), strict=True))

    def pipeline_probabilities(self, text: str) -> dict[str, float]:
        """The same through the whole pipeline (slower), for the test that they agree."""
        return dict(zip(self._classes, (float(p) for p in self._pipeline.predict_proba([text])[0]), strict=True))

    def danger_probability(self, text: str) -> float:
        """The model's probability of ``text`` being an emergency, or a crisis, whichever is higher
        (1.0 when it cannot judge it: mostly unknown words)."""
        if self.known_share(text) < MIN_KNOWN_SHARE:
            return 1.0
        probabilities = self.probabilities(text)
        return float(max(probabilities["emergency"], probabilities["crisis"]))

    def danger(self, text: str) -> tuple[str, float] | None:
        """``("emergency"|"crisis", probability)`` when over its threshold, else None. A message
        mostly of words the examples never had (word salad, keyboard mash) is not judged: the
        model would only be guessing."""
        if self.known_share(text) < MIN_KNOWN_SHARE:
            return None
        probabilities = self.probabilities(text)
        best = max(("emergency", "crisis"), key=lambda kind: probabilities[kind] / THRESHOLDS[kind])
        return (best, float(probabilities[best])) if probabilities[best] >= THRESHOLDS[best] else None


def bot_examples(directories: tuple[Path, ...] = NLU_DATA_DIRS) -> list[str]:
    """Everything the bot is trained to understand (greetings, yes and no, offers on or off,
    service questions), except its emergency examples: ordinary messages for the model."""
    texts = []
    for directory in directories:
        for path in sorted(directory.glob("*.yml")):
            for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
                if "emergency" in str(block.get("intent", "")) or not isinstance(block.get("examples"), str):
                    continue
                texts += [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
    return texts


def load_examples(directory: Path = EXAMPLES_DIR) -> tuple[list[str], list[str]]:
    """The texts and kinds of every example file, and the bot's own training messages as
    ordinary ones; KnowledgeError for a bad file."""
    texts = bot_examples()
    kinds = ["ordinary"] * len(texts)
    for path in sorted(directory.glob("*.yml")):
        cases = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cases") or []
        for case in cases:
            if case.get("kind") not in KINDS or not isinstance(case.get("text"), str):
                raise KnowledgeError(f"{path}: each case needs a kind of {KINDS} and a text")
            texts.append(case["text"])
            kinds.append(case["kind"])
    if set(kinds) != set(KINDS):
        raise KnowledgeError(f"{directory}: examples of every kind are needed: {KINDS}")
    return texts, kinds


@lru_cache(maxsize=2)
def load_model(directory: Path = EXAMPLES_DIR) -> SafetyModel:
    """The model trained on the examples (once per process)."""
    return SafetyModel(*load_examples(directory))
