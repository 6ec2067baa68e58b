"""Accuracy, macro-F1 and confusions of label predictions, per language."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class Prediction:
    """One evaluated case."""

    lang: str
    gold: str
    predicted: str
    text: str = ""


def macro_f1(pairs: Iterable[tuple[str, str]]) -> float:
    """Macro-averaged F1 over every label that occurs as gold or prediction."""
    pairs = list(pairs)
    labels = {gold for gold, _ in pairs} | {pred for _, pred in pairs}
    if not labels:
        return 0.0
    scores = []
    for label in labels:
        tp = sum(1 for gold, pred in pairs if gold == label and pred == label)
        fp = sum(1 for gold, pred in pairs if gold != label and pred == label)
        fn = sum(1 for gold, pred in pairs if gold == label and pred != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def summarise(predictions: list[Prediction], top_confusions: int = 10) -> dict[str, Any]:
    """The evaluation report: n, accuracy, per-language figures and the worst confusions."""
    n = len(predictions)
    correct = sum(p.gold == p.predicted for p in predictions)
    per_language: dict[str, dict[str, Any]] = {}
    for lang in sorted({p.lang for p in predictions}, key=["fi", "sv", "en"].index):
        subset = [p for p in predictions if p.lang == lang]
        per_language[lang] = {
            "n": len(subset),
            "accuracy": round(sum(p.gold == p.predicted for p in subset) / len(subset), 4),
            "macro_f1": round(macro_f1((p.gold, p.predicted) for p in subset), 4),
        }
    confusions = Counter((p.gold, p.predicted) for p in predictions if p.gold != p.predicted)
    return {
        "n": n,
        "accuracy": round(correct / n, 4) if n else 0.0,
        "per_language": per_language,
        "worst_confusions": [[g, p, c] for (g, p), c in confusions.most_common(top_confusions)],
    }
