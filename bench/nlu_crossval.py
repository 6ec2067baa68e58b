"""Compare NLU pipelines: stratified k-fold cross-validation and the held-out cases, per language.

    python -m bench.nlu_crossval [--configs config.yml bench/configs/count_lr.yml ...]
                                 [--folds 5] [--holdout-only]

Each fold trains a real Rasa NLU model (``rasa.model_training.train_nlu``) on the other folds of
``nlu/{fi,sv,en}`` and parses the held-back examples in-process; folds are stratified by label and
language. ``--holdout-only`` trains once on all training data and evaluates on
``tests/data/heldout_*.yml`` (use it for slow pipelines such as DIET). Prints a table and, last,
one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.nlu_eval import best_label, load_cases
from bench.nlu_metrics import Prediction, summarise
from bot.core.paths import CONFIG_FILE, NLU_DATA_DIRS, PROJECT_ROOT
from bot.knowledge.labels import intent_to_label

HELDOUT = sorted((PROJECT_ROOT / "tests" / "data").glob("heldout_*.yml"))


def load_examples() -> list[tuple[str, str, str]]:
    """(lang, intent, text) for every training example."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = []
    for folder in NLU_DATA_DIRS:
        data = load_data(str(folder))
        examples += [(folder.name, m.get("intent"), m.get("text")) for m in data.intent_examples]
    return examples


def train_and_parse(
    config: Path, train: list[tuple[str, str, str]], texts: list[str]
) -> tuple[list[dict[str, Any]], float]:
    """Train an NLU model on ``train`` with ``config``; parse ``texts``; return parses and seconds."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "nlu.yml"
        messages = [Message(data={"intent": intent, "text": text}) for _, intent, text in train]
        RasaYAMLWriter().dump(data_path, TrainingData(training_examples=messages))
        started = time.monotonic()
        model = train_nlu(str(config), str(data_path), str(Path(tmp) / "models"), fixed_model_name="fold")
        seconds = time.monotonic() - started
        if not model:
            raise RuntimeError(f"training with {config} failed")
        agent = Agent.load(model)

        async def parse_all() -> list[dict[str, Any]]:
            return [await agent.parse_message(text) for text in texts]

        return asyncio.run(parse_all()), seconds


def cross_validate(config: Path, examples: list[tuple[str, str, str]], folds: int) -> dict[str, Any]:
    """k-fold figures for one config."""
    from sklearn.model_selection import StratifiedKFold

    strata = [f"{lang}|{intent}" for lang, intent, _ in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    predictions: list[Prediction] = []
    seconds = []
    for k, (train_idx, test_idx) in enumerate(splitter.split(examples, strata), start=1):
        test = [examples[i] for i in test_idx]
        parses, took = train_and_parse(config, [examples[i] for i in train_idx], [t for _, _, t in test])
        seconds.append(took)
        predictions += [
            Prediction(lang, intent_to_label(intent), best_label(parse), text)
            for (lang, intent, text), parse in zip(test, parses, strict=True)
        ]
        print(f"  {config.name} fold {k}/{folds}: trained in {took:.0f} s", file=sys.stderr, flush=True)
    report = summarise(predictions)
    report["train_seconds_median"] = round(statistics.median(seconds), 1)
    return report


def holdout(config: Path, examples: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Train on all training data, evaluate on the held-out cases."""
    cases = load_cases(HELDOUT)
    parses, took = train_and_parse(config, examples, [c["text"] for c in cases])
    predictions = [
        Prediction(c["lang"], c["label"], best_label(p), c["text"]) for c, p in zip(cases, parses, strict=True)
    ]
    report = summarise(predictions)
    report["train_seconds"] = round(took, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.nlu_crossval", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs", nargs="+", type=Path, default=[CONFIG_FILE, PROJECT_ROOT / "bench/configs/count_lr.yml"]
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--holdout-only", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    logging.basicConfig(level=logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    examples = load_examples()
    print(f"{len(examples)} training examples; held-out files: {[p.name for p in HELDOUT]}", file=sys.stderr)
    results: dict[str, Any] = {}
    for config in args.configs:
        entry: dict[str, Any] = {}
        if not args.holdout_only:
            entry["crossval"] = cross_validate(config, examples, args.folds)
        entry["holdout"] = holdout(config, examples)
        results[str(config.relative_to(PROJECT_ROOT) if config.is_absolute() else config)] = entry
        print(f"\n{config}", file=sys.stderr)
        for kind, report in entry.items():
            for lang, figures in report["per_language"].items():
                print(
                    f"  {kind:9} {lang}: accuracy {figures['accuracy']:.3f}"
                    f"  macro-F1 {figures['macro_f1']:.3f}  (n={figures['n']})",
                    file=sys.stderr,
                )
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
