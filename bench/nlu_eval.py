"""Evaluate the trained NLU model on labelled cases, without any server running.

    python -m bench.nlu_eval --cases FILE [--cases FILE ...] [--model PATH] [--errors]

FILE is YAML: ``{version: 1, cases: [{lang: fi, label: faq/library, text: "..."}]}`` with labels
exactly as in ``nlu/labels.yml``. The last line printed is one JSON object:
``{"n", "accuracy", "per_language": {lang: {"n", "accuracy", "macro_f1"}}, "worst_confusions"}``.
The predicted label is the classifier's best label; a low-confidence message still counts with
its best guess (the bot would ask a clarifying question about it). Exit status: 0 on success,
2 when the model is missing, 3 when a case file is malformed or names an unknown label.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from bench.nlu_metrics import Prediction, summarise
from bot.core.i18n import LANGUAGES
from bot.knowledge.labels import intent_to_label, load_labels

EXIT_MODEL_MISSING = 2
EXIT_BAD_CASES = 3


class CasesError(ValueError):
    """A case file is malformed or names an unknown label or language."""


def load_cases(paths: list[Path]) -> list[dict[str, str]]:
    """Read and validate every case file; raise CasesError naming the problem."""
    labels = load_labels()
    cases: list[dict[str, str]] = []
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CasesError(f"{path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("cases"), list):
            raise CasesError(f"{path}: expected {{version: 1, cases: [...]}}")
        for i, case in enumerate(data["cases"]):
            where = f"{path}: case {i + 1}"
            if not isinstance(case, dict) or not all(isinstance(case.get(k), str) for k in ("lang", "label", "text")):
                raise CasesError(f"{where}: needs lang, label and text strings")
            if case["label"] not in labels:
                raise CasesError(f"{where}: unknown label {case['label']!r}")
            if case["lang"] not in LANGUAGES:
                raise CasesError(f"{where}: unknown language {case['lang']!r}")
            cases.append({k: case[k] for k in ("lang", "label", "text")})
    return cases


def best_label(parse: dict[str, Any]) -> str:
    """The best label of a parse result, skipping the fallback pseudo-intent."""
    for item in parse.get("intent_ranking") or []:
        if item.get("name") and item["name"] != "nlu_fallback":
            return intent_to_label(item["name"])
    intent = (parse.get("intent") or {}).get("name") or "nlu_fallback"
    return intent_to_label(intent)


async def predict(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    """Parse every text with the model loaded in-process."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.nlu_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", action="append", required=True, type=Path, help="YAML case file (repeatable)")
    parser.add_argument("--model", type=Path, help="model .tar.gz (default: the current trained model)")
    parser.add_argument("--errors", action="store_true", help="list every wrong prediction")
    args = parser.parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING)

    try:
        cases = load_cases(args.cases)
    except CasesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CASES
    from bot.cli.training import require_model
    from bot.core.errors import ModelMissingError

    try:
        model = args.model or require_model()
        if not model.exists():
            raise ModelMissingError(f"model {model} does not exist")
    except ModelMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_MODEL_MISSING

    print(f"Evaluating {len(cases)} cases with {model.name} ...", file=sys.stderr, flush=True)
    parses = asyncio.run(predict(model, [case["text"] for case in cases]))
    predictions = [
        Prediction(case["lang"], case["label"], best_label(parse), case["text"])
        for case, parse in zip(cases, parses, strict=True)
    ]
    if args.errors:
        for p in predictions:
            if p.gold != p.predicted:
                print(f"  {p.lang} {p.gold:28} -> {p.predicted:28} {p.text}", file=sys.stderr)
    print(json.dumps(summarise(predictions), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
