"""Rasa's ResponseSelector against our answer picker, on the same follow-up questions.

Run in Rasa's environment: ``.venv-rasa/bin/python -m bench.response_selector_eval``.

Issue 16 asked to choose, by measurement, between Rasa's ResponseSelector and a retrieval step
of our own for picking the entry that answers a follow-up question within the recognised topic.
This trains a ResponseSelector on exactly what the picker has (every entry's ``asks`` in fi, sv
and en, one retrieval intent per entry: ``faq/<topic>__<entry>``) on our tokenizer with
character 3-5-gram and word count features, then asks it each question of
``tests/data/followups_{fi,sv,en}.yml`` (written by people who never saw the asks) and takes the
highest-ranked entry *of the right topic*, as the picker does. The overview does not compete
here (the picker's figures count an overview answer as wrong; here it cannot happen), which only
favours the ResponseSelector. Prints the training time, the accuracy per language, the picker's
on the same cases, and a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.answer_eval import DEFAULT_CASES, load
from bot.knowledge.answer_picker import AnswerPicker
from bot.knowledge.files import load_faq

PIPELINE = [
    {"name": "nlu.components.folding_tokenizer.FoldingTokenizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 3, "max_ngram": 5},
    {"name": "CountVectorsFeaturizer"},
]


def training_files(folder: Path, epochs: int) -> tuple[Path, Path, Path]:
    """config.yml, nlu.yml and domain.yml for one retrieval intent per entry."""
    faq = load_faq()
    examples: list[dict[str, Any]] = []
    responses: dict[str, list[dict[str, str]]] = {}
    for topic in faq.values():
        for entry in topic.entries:
            key = f"{topic.topic}__{entry.id}"
            asks = [ask for language in ("fi", "sv", "en") for ask in entry.asks.get(language, ())]
            examples.append({"intent": f"faq/{key}", "examples": "".join(f"- {ask}\n" for ask in asks)})
            responses[f"utter_faq/{key}"] = [{"text": key}]
    config = {
        "recipe": "default.v1",
        "language": "xx",
        "assistant_id": "bench",
        "pipeline": [*PIPELINE, {"name": "ResponseSelector", "epochs": epochs, "ranking_length": 0}],
        "policies": [],
    }
    paths = folder / "config.yml", folder / "nlu.yml", folder / "domain.yml"
    paths[0].write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    paths[1].write_text(yaml.safe_dump({"version": "3.1", "nlu": examples}, allow_unicode=True), encoding="utf-8")
    domain = {"version": "3.1", "intents": ["faq"], "responses": responses}
    paths[2].write_text(yaml.safe_dump(domain, allow_unicode=True), encoding="utf-8")
    return paths


async def evaluate(model: str, case_files: list[Path]) -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    picker = AnswerPicker(load_faq())
    report: dict[str, Any] = {}
    for path in case_files:
        language, cases = load(path)
        right = right_anywhere = picked_right = 0
        for case in cases:
            parsed = await agent.parse_message(case["text"])
            ranking = parsed.get("response_selector", {}).get("default", {}).get("ranking", [])
            keys = [str(r.get("intent_response_key", "")).removeprefix("faq/") for r in ranking]
            in_topic = [k for k in keys if k.startswith(f"{case['topic']}__")]
            expected = f"{case['topic']}__{case['entry']}"
            right += bool(in_topic) and in_topic[0] == expected
            right_anywhere += bool(keys) and keys[0] == expected
            chosen = picker.pick(case["topic"], case["text"], language).entry
            picked_right += chosen is not None and chosen.id == case["entry"]
        report[language] = {
            "cases": len(cases),
            "response_selector_in_topic": round(100 * right / len(cases), 1),
            "response_selector_top1_any_topic": round(100 * right_anywhere / len(cases), 1),
            "picker_in_topic": round(100 * picked_right / len(cases), 1),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("cases", nargs="*", type=Path, default=DEFAULT_CASES)
    args = parser.parse_args()
    from rasa.model_training import train_nlu

    with tempfile.TemporaryDirectory(prefix="citybot-rs-") as folder:
        config, nlu, domain = training_files(Path(folder), args.epochs)
        print(f"training a ResponseSelector ({args.epochs} epochs) on every entry's asks ...", flush=True)
        started = time.monotonic()
        model = train_nlu(str(config), str(nlu), str(Path(folder) / "models"), domain=str(domain))
        took = time.monotonic() - started
        if model is None:
            raise SystemExit("training failed")
        print(f"trained in {took:.0f} s; asking the follow-up questions ...", flush=True)
        report = asyncio.run(evaluate(str(model), args.cases))
    print(f"{'language':<9}{'cases':>6}{'RS in topic':>13}{'RS top-1 any':>14}{'picker':>8}")
    for language, row in report.items():
        print(
            f"{language:<9}{row['cases']:>6}{row['response_selector_in_topic']:>12.1f}%"
            f"{row['response_selector_top1_any_topic']:>13.1f}%{row['picker_in_topic']:>7.1f}%"
        )
    print(json.dumps({"training_seconds": round(took), "epochs": args.epochs, "languages": report}))


if __name__ == "__main__":
    main()
