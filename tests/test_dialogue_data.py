"""Training and dialogue data: coverage of every label, rules for every intent, Rasa's validator."""

import re
import subprocess
from collections import Counter
from pathlib import Path

import yaml

from bot.cli.training import fingerprint, generate_nlu, training_inputs
from bot.core.i18n import LANGUAGES
from bot.core.paths import CONFIG_FILE, DIALOGUE_DIR, DOMAIN_FILE, NLU_DATA_DIRS, PROJECT_ROOT, rasa_python
from bot.knowledge.labels import all_intents, intent_to_label, label_to_intent, load_labels

MIN_EXAMPLES = 25


def examples_by_language() -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for folder in NLU_DATA_DIRS:
        counter: Counter[str] = Counter()
        for path in folder.glob("*.yml"):
            for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
                lines = [line for line in block["examples"].splitlines() if line.strip().startswith("- ")]
                counter[block["intent"]] += len(lines)
        counts[folder.name] = counter
    return counts


def test_label_mapping_round_trips() -> None:
    for label in load_labels():
        assert intent_to_label(label_to_intent(label)) == label
    assert label_to_intent("faq/library") == "faq_library"


def test_every_label_has_enough_examples_in_every_language() -> None:
    counts = examples_by_language()
    assert set(counts) == set(LANGUAGES)
    for lang, counter in counts.items():
        assert set(counter) == set(all_intents()), f"{lang}: {set(counter) ^ set(all_intents())}"
        thin = {intent: n for intent, n in counter.items() if n < MIN_EXAMPLES}
        assert not thin, f"{lang} has fewer than {MIN_EXAMPLES} examples for {thin}"


def test_domain_intents_are_exactly_the_labels() -> None:
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    assert sorted(domain["intents"]) == sorted(all_intents())


def test_every_intent_has_a_rule() -> None:
    rules = yaml.safe_load((DIALOGUE_DIR / "rules.yml").read_text(encoding="utf-8"))["rules"]
    handled = []
    for rule in rules:
        for step in rule["steps"]:
            if "intent" in step:
                handled.append(step["intent"])
            for option in step.get("or", []):
                handled.append(option["intent"])
    assert Counter(handled) == Counter([*all_intents(), "nlu_fallback"])


def _responses_uttered_by_actions() -> set[str]:
    names: set[str] = set()
    for path in (PROJECT_ROOT / "actions").glob("*.py"):
        names |= set(re.findall(r'response="(utter_\w+)"', path.read_text(encoding="utf-8")))
    return names


def test_rasa_data_validate_is_clean() -> None:
    result = subprocess.run(
        [
            str(rasa_python()),
            "-m",
            "rasa",
            "data",
            "validate",
            "--domain",
            str(DOMAIN_FILE),
            "--config",
            str(CONFIG_FILE),
            "--data",
            *map(str, NLU_DATA_DIRS),
            str(generate_nlu()),  # the knowledge files' asks, as training uses them
            str(DIALOGUE_DIR),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    warnings = re.findall(r"UserWarning: (.*)", output)
    # Rasa cannot see responses sent from custom actions; those, and only those, are allowed.
    unused = set(re.findall(r"The utterance '(\w+)' is not used in any story or rule", output))
    assert unused <= _responses_uttered_by_actions(), unused - _responses_uttered_by_actions()
    other = [w for w in warnings if "is not used in any story or rule" not in w]
    assert other == []


def test_fingerprint_covers_training_inputs() -> None:
    inputs = {p.relative_to(PROJECT_ROOT).as_posix() for p in training_inputs()}
    assert {
        "config.yml",
        "domain.yml",
        "bot/dialogue/rules.yml",
        "nlu/fi/conversation.yml",
        "nlu/components/linear_intent_classifier.py",
        "bot/core/text.py",
    } <= inputs
    assert fingerprint() == fingerprint()
    assert len(fingerprint()) == 16


def test_no_training_example_appears_under_two_labels() -> None:
    seen: dict[tuple[str, str], str] = {}
    clashes = []
    for folder in NLU_DATA_DIRS:
        for path in folder.glob("*.yml"):
            for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
                for line in block["examples"].splitlines():
                    text = line.strip()[2:].strip().casefold()
                    key = (folder.name, text)
                    if key in seen and seen[key] != block["intent"]:
                        clashes.append((folder.name, text, seen[key], block["intent"]))
                    seen.setdefault(key, block["intent"])
    assert clashes == []


def test_heldout_cases_are_not_in_training_data() -> None:
    training = set()
    for folder in NLU_DATA_DIRS:
        for path in folder.glob("*.yml"):
            for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
                training |= {line.strip()[2:].strip().casefold() for line in block["examples"].splitlines()}
    # One- and two-word replies ("ei käy", "nej tack") are bound to recur; longer ones must not.
    for path in Path(PROJECT_ROOT / "tests" / "data").glob("*.yml"):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            text = case["text"].strip().casefold()
            if len(text.split()) > 2:
                assert text not in training, (path.name, case["text"])
