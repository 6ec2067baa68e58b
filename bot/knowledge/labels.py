"""The label contract (``nlu/labels.yml``) and its mapping to Rasa intent names.

A label ``faq/<topic>`` is the intent ``faq_<topic>`` inside Rasa (a ``/`` in an intent name would
make it a Rasa retrieval intent); every other label is an intent of the same name.
"""

from functools import lru_cache
from pathlib import Path

import yaml

from bot.core.errors import UnknownLabelError
from bot.core.paths import LABELS_FILE

FAQ_PREFIX = "faq/"
FAQ_INTENT_PREFIX = "faq_"


@lru_cache(maxsize=4)
def load_labels(path: Path = LABELS_FILE) -> dict[str, str]:
    """Return every label with its description, in file order (``faq/library`` → "...")."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    labels: dict[str, str] = {}
    for group, entries in data.items():
        for name, description in entries.items():
            label = f"{FAQ_PREFIX}{name}" if group == "faq" else name
            labels[label] = description
    return labels


def label_to_intent(label: str) -> str:
    """``faq/library`` → ``faq_library``; ``greet`` → ``greet``. Unknown labels raise."""
    if label not in load_labels():
        raise UnknownLabelError(f"unknown label {label!r}; see {LABELS_FILE}")
    if label.startswith(FAQ_PREFIX):
        return FAQ_INTENT_PREFIX + label[len(FAQ_PREFIX) :]
    return label


def intent_to_label(intent: str) -> str:
    """``faq_library`` → ``faq/library``. Intents outside the contract (``nlu_fallback``) pass."""
    if intent.startswith(FAQ_INTENT_PREFIX):
        return FAQ_PREFIX + intent[len(FAQ_INTENT_PREFIX) :]
    return intent


def faq_topic(intent: str | None) -> str | None:
    """``faq_library`` → ``library``; None for an intent that is not a service topic."""
    if intent and intent.startswith(FAQ_INTENT_PREFIX):
        return intent[len(FAQ_INTENT_PREFIX) :]
    return None


def faq_topics() -> list[str]:
    """The topic names of every ``faq/...`` label (``library``, ``daycare_fees``, ...)."""
    return [label[len(FAQ_PREFIX) :] for label in load_labels() if label.startswith(FAQ_PREFIX)]


def all_intents() -> list[str]:
    """Every intent the NLU model must know, derived from the labels."""
    return [label_to_intent(label) for label in load_labels()]
