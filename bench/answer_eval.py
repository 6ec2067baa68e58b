"""How often the right entry answers a follow-up question: ``python -m bench.answer_eval``.

Reads ``tests/data/followups_{fi,sv,en}.yml`` (``{language, cases: [{topic, entry, text}]}``,
written by people who saw only each entry's one-line description, never its asks or answer) and
prints, per language:

- **picker**: the entry chosen within the right topic (what ``bot/knowledge/answer_picker.py``
  decides once the model has recognised the topic), and how often the overview answered instead;
- with ``--compare``: the same for other ways of choosing (word TF-IDF, character 2-4-grams,
  the best ask vs the mean of an entry's asks), the measurement behind the chosen method;
- with ``--threshold``: accuracy for thresholds from 0.1 to 0.6 (a case answered by the overview
  counts as wrong: the citizen did not get their answer at once).

``--misses`` lists the wrong cases. The last line is the report as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.core.paths import PROJECT_ROOT
from bot.core.text import fold
from bot.knowledge.answer_picker import MIN_SCORE, AnswerPicker
from bot.knowledge.files import FaqEntry, load_faq

DEFAULT_CASES = [PROJECT_ROOT / "tests" / "data" / f"followups_{lang}.yml" for lang in ("fi", "sv", "en")]


def load(path: Path) -> tuple[str, list[dict[str, str]]]:
    """A case file, checked against the knowledge files (every topic and entry exists)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    faq = load_faq()
    for case in data["cases"]:
        topic = faq.get(case["topic"])
        if topic is None or topic.entry(case["entry"]) is None:
            raise SystemExit(f"{path}: no entry {case['topic']}/{case['entry']}")
    return str(data["language"]), list(data["cases"])


def picker_accuracy(picker: AnswerPicker, language: str, cases: list[dict[str, str]]) -> dict[str, Any]:
    """Right entry, overview instead, and the wrong cases."""
    right = overview = 0
    misses = []
    for case in cases:
        picked = picker.pick(case["topic"], case["text"], language)
        if picked.entry is None:
            overview += 1
            misses.append({**case, "got": "(overview)", "score": round(picked.score, 2)})
        elif picked.entry.id == case["entry"]:
            right += 1
        else:
            misses.append({**case, "got": picked.entry.id, "score": round(picked.score, 2)})
    return {"n": len(cases), "accuracy": right / len(cases), "overview": overview / len(cases), "misses": misses}


Scorer = Callable[[FaqEntry, str, str], str]


def _scorer(analyzer: str, ngrams: tuple[int, int], mean: bool) -> Scorer:
    """An alternative way of choosing: a vectorizer, and the best ask or the mean of the asks."""
    cache: dict[tuple[str, str], tuple[TfidfVectorizer, Any, list[int]]] = {}

    def choose(faq: FaqEntry, question: str, language: str) -> str:
        key = (faq.topic, language)
        if key not in cache:
            texts, owners = [], []
            for number, entry in enumerate(faq.entries):
                for ask in (*entry.asks[language], entry.title[language]):
                    texts.append(fold(ask))
                    owners.append(number)
            vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True)
            cache[key] = (vectorizer, vectorizer.fit_transform(texts), owners)
        vectorizer, matrix, owners = cache[key]
        similarities = (matrix @ vectorizer.transform([fold(question)]).T).toarray().ravel()
        scores = np.zeros(len(faq.entries))
        counts = np.zeros(len(faq.entries))
        for owner, similarity in zip(owners, similarities, strict=True):
            if mean:
                scores[owner] += similarity
                counts[owner] += 1
            else:
                scores[owner] = max(scores[owner], similarity)
        if mean:
            scores = scores / np.maximum(counts, 1)
        return faq.entries[int(np.argmax(scores))].id

    return choose


ALTERNATIVES: dict[str, Scorer] = {
    "char_wb 3-5, best ask (chosen)": _scorer("char_wb", (3, 5), mean=False),
    "char_wb 2-4, best ask": _scorer("char_wb", (2, 4), mean=False),
    "char_wb 3-5, mean of asks": _scorer("char_wb", (3, 5), mean=True),
    "words 1-2, best ask": _scorer("word", (1, 2), mean=False),
}


def main(argv: list[str] | None = None) -> None:
    """Print the figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, nargs="*", default=DEFAULT_CASES)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--threshold", action="store_true")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    faq = load_faq()
    picker = AnswerPicker(faq)
    report: dict[str, Any] = {"min_score": MIN_SCORE, "languages": {}}
    confusions: Counter[tuple[str, str, str]] = Counter()
    for path in args.cases:
        language, cases = load(path)
        result = picker_accuracy(picker, language, cases)
        confusions.update((m["topic"], m["entry"], m["got"]) for m in result["misses"])
        line = f"{language}: {result['accuracy']:.1%} right entry of {result['n']}, overview {result['overview']:.1%}"
        print(line)
        entry: dict[str, Any] = {k: v for k, v in result.items() if k != "misses"}
        if args.misses:
            for miss in result["misses"]:
                print(f"   {miss['topic']}/{miss['entry']} → {miss['got']} ({miss['score']}): {miss['text']}")
        if args.compare:
            entry["alternatives"] = {}
            for name, choose in ALTERNATIVES.items():
                share = sum(choose(faq[c["topic"]], c["text"], language) == c["entry"] for c in cases) / len(cases)
                entry["alternatives"][name] = round(share, 4)
                print(f"   {name}: {share:.1%} (no threshold)")
        if args.threshold:
            entry["thresholds"] = {}
            for threshold in (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6):
                share = picker_accuracy(AnswerPicker(faq, threshold), language, cases)["accuracy"]
                entry["thresholds"][str(threshold)] = round(share, 4)
                print(f"   threshold {threshold}: {share:.1%}")
        report["languages"][language] = entry
    report["worst_confusions"] = [list(k) + [v] for k, v in confusions.most_common(10)]
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
