"""The entries' ``asks`` as training examples of their topic's intent (written at training time).

The editors' asks are how citizens ask about a topic ("how much is a swim ticket?"), so the model
learns them as the topic too: one place to add a question. Only asks that name their topic are
used: an ask needs a word (four letters or more, folded) that no other topic's asks use, so a
follow-up such as "entä hinta?" or "and who do I call?" (every topic has one) does not teach the
model that a price question is about sports. An ask that is already an example of another
intent is left out too (the data must not contradict itself).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

from bot.core.text import fold, words
from bot.knowledge.files import FaqEntry

MIN_WORD = 4
# Entries whose questions are another intent's: "when is the health station open?" is asked of
# faq_opening_hours, which answers with the place's hours today; an entry of that name in a topic
# only explains where hours are shown.
OTHER_INTENTS_ENTRIES = frozenset({"opening_hours"})
PER_ENTRY = 2  # asks per entry and language: more diluted the model's other intents (measured, docs/answers.md)


def distinctive_asks(faq: dict[str, FaqEntry], taken: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Intent (``faq_<topic>``) → the asks that name their topic, in file order.

    ``taken``: folded example → intent, of the hand-written training data."""
    topics_of_word: dict[str, set[str]] = defaultdict(set)
    for topic, entry in faq.items():
        for answer in entry.entries:
            for asks in answer.asks.values():
                for ask in asks:
                    for word in words(ask):
                        if len(word) >= MIN_WORD:
                            topics_of_word[word].add(topic)
    result: dict[str, list[str]] = {}
    for topic, entry in faq.items():
        intent = f"faq_{topic}"
        chosen: list[str] = []
        for answer in entry.entries:
            if answer.id in OTHER_INTENTS_ENTRIES:
                continue
            for asks in answer.asks.values():
                kept = 0
                for ask in asks:
                    folded = fold(ask)
                    if kept == PER_ENTRY or (taken is not None and taken.get(folded, intent) != intent):
                        continue
                    if any(topics_of_word[w] == {topic} for w in words(ask) if len(w) >= MIN_WORD):
                        chosen.append(ask)
                        kept += 1
        if chosen:
            result[intent] = list(dict.fromkeys(chosen))
    return result


def existing_examples(files: list[Path]) -> dict[str, str]:
    """Folded example → intent, from Rasa NLU files."""
    taken: dict[str, str] = {}
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if isinstance(block, dict) and "intent" in block:
                for line in str(block.get("examples") or "").splitlines():
                    text = line.strip().removeprefix("- ").strip()
                    if text:
                        taken.setdefault(fold(text), str(block["intent"]))
    return taken


def write_nlu_file(path: Path, faq: dict[str, FaqEntry], hand_written: list[Path]) -> int:
    """Write the asks as a Rasa NLU file; returns how many examples."""
    asks = distinctive_asks(faq, existing_examples(hand_written))
    blocks = []
    for intent, examples in sorted(asks.items()):
        lines = "".join(f"    - {' '.join(e.split())}\n" for e in examples)
        blocks.append(f"- intent: {intent}\n  examples: |\n{lines}")
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by `python -m bot train` from knowledge/faq (the entries' asks): do not edit.\n"
    header += 'version: "3.1"\nnlu:\n'
    path.write_text(header + "".join(blocks), encoding="utf-8")
    return sum(len(e) for e in asks.values())
