"""The trained model on held-out cases that were never used for training, per language and label."""

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from bench.nlu_eval import best_label, load_cases
from bot.core.i18n import LANGUAGES
from bot.knowledge.labels import load_labels

pytestmark = pytest.mark.model
HELDOUT = sorted((Path(__file__).parents[1] / "data").glob("heldout_*.yml"))


@pytest.fixture(scope="module")
def results(model_path: Path) -> list[tuple[dict[str, str], str]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    cases = load_cases(HELDOUT)

    async def parse_all() -> list[dict[str, Any]]:
        return [await agent.parse_message(c["text"]) for c in cases]

    return [(case, best_label(parse)) for case, parse in zip(cases, asyncio.run(parse_all()), strict=True)]


def test_heldout_covers_every_label_in_every_language(results: list[tuple[dict[str, str], str]]) -> None:
    seen = {(case["lang"], case["label"]) for case, _ in results}
    assert seen == {(lang, label) for lang in LANGUAGES for label in load_labels()}


def test_accuracy_per_language(results: list[tuple[dict[str, str], str]]) -> None:
    for lang in LANGUAGES:
        subset = [(case, pred) for case, pred in results if case["lang"] == lang]
        accuracy = sum(case["label"] == pred for case, pred in subset) / len(subset)
        assert accuracy >= 0.93, f"{lang}: {accuracy:.3f}"


def test_every_label_recognised_in_every_language(results: list[tuple[dict[str, str], str]]) -> None:
    correct: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for case, pred in results:
        correct[(case["lang"], case["label"])].append(case["label"] == pred)
    weak = {key: sum(v) / len(v) for key, v in correct.items() if sum(v) / len(v) < 0.7}
    assert not weak, f"labels recognised in under 70% of held-out cases: {weak}"


def test_word_salad_about_a_topic_falls_back_and_real_questions_do_not(model_path: Path) -> None:
    """Issue 12, scenario fi-nonsense-word-salad-then-real-question: real words in no order got a
    confident topic answer (the library card)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    salads = [
        "pyörä kaali sininen tiistai hyppää lusikka kirjasto",
        "fönstret äter tisdagar långsamt bakom simhallen",
        "purple library eats bus tuesday daycare sky banana",
    ]
    questions = [
        "miten saan kirjastokortin jos mulla ei ole henkkareita",
        "när har Itäkeskus simhall öppet på söndag",
        "how do I apply for a daycare place for my son",
    ]

    async def parse(texts: list[str]) -> list[dict[str, Any]]:
        return [await agent.parse_message(t) for t in texts]

    for parsed in asyncio.run(parse(salads)):
        assert parsed.get("incoherent") and parsed["intent"]["name"] == "nlu_fallback", parsed["text"]
    for parsed in asyncio.run(parse(questions)):
        assert not parsed.get("incoherent") and parsed["intent"]["name"].startswith("faq_"), parsed["text"]


def test_the_classifier_scores_through_its_fitted_parts_as_its_pipeline_does() -> None:
    """Issue 13's profile: scoring skips the pipeline's joblib machinery; the scores are the same."""
    import numpy as np

    from nlu.components.linear_intent_classifier import LinearIntentClassifier, build_pipeline

    config = LinearIntentClassifier.get_default_config()
    cases = load_cases([Path(f"tests/data/heldout_{language}.yml") for language in LANGUAGES])[::5]
    texts, labels = [c["text"] for c in cases], [c["label"] for c in cases]
    pipeline = build_pipeline(config).fit(texts, labels)
    classifier = LinearIntentClassifier(config, None, None, pipeline)  # type: ignore[arg-type]
    probes = texts[::7] + ["blorf snark", "milloin Oodi on auki?", "var lämnar jag batterier"]
    assert np.allclose(classifier.decision_function(probes), pipeline.decision_function(probes), atol=1e-12)
