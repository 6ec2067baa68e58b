"""Every text the bot can send exists in fi, sv and en; knowledge files are complete and valid."""

import datetime as dt
from typing import Any

import pytest
import yaml

from bot.core.errors import KnowledgeError
from bot.core.i18n import LANGUAGES
from bot.core.paths import DOMAIN_FILE, knowledge_dir
from bot.knowledge.files import load_calendar, load_conversation_titles, load_faq, load_languages, trilingual
from bot.knowledge.labels import faq_topics, load_labels
from bot.knowledge.service_points import ServicePoints, load_service_points

FAQ_DIR = knowledge_dir() / "faq"


def test_every_faq_topic_has_a_complete_knowledge_file() -> None:
    faq = load_faq()
    assert sorted(faq) == sorted(faq_topics())
    for entry in faq.values():
        for texts in (entry.title, entry.answer, entry.link):
            assert set(texts) == set(LANGUAGES)
            assert all(text.strip() for text in texts.values())
        assert all(url.startswith("https://") for url in entry.link.values())
        assert isinstance(entry.reviewed, dt.date)


def test_answers_are_short_enough_for_a_chat() -> None:
    for entry in load_faq().values():
        for lang, text in entry.answer.items():
            assert len(text) <= 800, f"{entry.topic}.{lang} is {len(text)} characters"


# Topics answered by their overview alone: the emergency guidance (complete, never split) and
# opening hours (answered from the service points' hours).
WHOLE_TOPICS = ("emergency", "opening_hours")
MAX_WORDS = 60


def test_every_topic_names_its_link() -> None:
    assert [faq.topic for faq in load_faq().values() if faq.link_title is None] == []


def test_every_service_topic_is_question_answer_entries_of_at_most_60_words() -> None:
    """Issue 16: one fixed paragraph per topic answered every follow-up with the same text."""
    for faq in load_faq().values():
        if faq.topic in WHOLE_TOPICS:
            continue
        assert 4 <= len(faq.entries) <= 8, faq.topic
        assert faq.link_title is not None, f"{faq.topic}: the link needs a title"
        for lang in LANGUAGES:
            assert len(faq.answer[lang].split()) <= MAX_WORDS, f"{faq.topic} overview ({lang})"
            for entry in faq.entries:
                where = f"{faq.topic}.{entry.id} ({lang})"
                assert len(entry.answer[lang].split()) <= MAX_WORDS, where
                assert "http" not in entry.answer[lang], f"{where}: links go in link, not in the answer"
                assert len(entry.asks[lang]) >= 5, f"{where}: too few asks to be found"
                assert len(entry.title[lang]) <= 24, where


def test_an_ask_belongs_to_one_entry_of_its_topic() -> None:
    for faq in load_faq().values():
        seen: dict[str, str] = {}
        for entry in faq.entries:
            for ask in (a.casefold() for asks in entry.asks.values() for a in asks):
                assert seen.setdefault(ask, entry.id) == entry.id, f"{faq.topic}: {ask!r} in two entries"


def test_an_entry_without_a_link_in_every_language_is_refused(tmp_path: Any) -> None:
    from bot.knowledge.files import load_faq as load

    folder = tmp_path / "faq"
    folder.mkdir()
    text = (FAQ_DIR / "library.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["entries"][0]["link"] = {"fi": "https://www.hel.fi/fi"}
    data["entries"][0]["link_title"] = {"fi": "hel.fi"}
    (folder / "library.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="library_card].link: missing text in sv, en"):
        load(tmp_path)


def test_emergency_answer_starts_with_112_in_every_language() -> None:
    answer = load_faq()["emergency"].answer
    for lang in LANGUAGES:
        assert "112" in answer[lang][:120], lang


def test_trilingual_rejects_a_missing_language() -> None:
    with pytest.raises(KnowledgeError, match="missing text in sv"):
        trilingual({"fi": "Hei", "en": "Hi", "sv": " "}, "x")


def _domain() -> dict[str, Any]:
    return dict(yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8")))


def test_every_response_exists_in_every_language() -> None:
    for name, variations in _domain()["responses"].items():
        langs = []
        for variation in variations:
            [condition] = variation["condition"]
            assert condition["name"] == "language", name
            langs.append(condition["value"])
            assert variation["text"].strip(), name
        assert sorted(langs) == sorted(LANGUAGES), f"{name} has {langs}"


def test_buttons_exist_in_every_language_with_the_same_payloads() -> None:
    for name, variations in _domain()["responses"].items():
        payloads = {v["condition"][0]["value"]: [b["payload"] for b in v.get("buttons", [])] for v in variations}
        assert len({tuple(p) for p in payloads.values()}) == 1, name
        for variation in variations:
            assert all(b["title"].strip() for b in variation.get("buttons", [])), name


def test_domain_button_payloads_carry_no_entities() -> None:
    # Rasa fills "{...}" in responses as slot placeholders and logs an error for JSON entities.
    for name, variations in _domain()["responses"].items():
        for variation in variations:
            assert all("{" not in b["payload"] for b in variation.get("buttons", [])), name


def test_responses_with_variables_use_the_same_variables_in_every_language() -> None:
    import re

    for name, variations in _domain()["responses"].items():
        variables = {tuple(sorted(re.findall(r"{(\w+)}", v["text"]))) for v in variations}
        assert len(variables) == 1, f"{name}: {variables}"


def test_conversation_titles_and_languages_and_calendar_are_trilingual() -> None:
    titles = load_conversation_titles()
    labels = load_labels()
    assert set(titles) <= set(labels)
    assert set(load_languages()) == set(LANGUAGES)
    calendar = load_calendar()
    assert len(calendar.weekday_names) == 7 and len(calendar.weekday_on) == 7
    assert {"now", "today", "tomorrow"} <= set(calendar.relative_names)
    assert len(calendar.holiday_names) >= 15


def test_service_points_cover_the_required_kinds() -> None:
    points = load_service_points().points
    assert len(points) >= 15
    kinds = [p.kind for p in points.values()]
    for kind in ("library", "swimming_hall", "health_station", "service_centre"):
        assert kinds.count(kind) >= 2, kind
    assert "oodi" in points
    for point in points.values():
        assert set(point.name) == set(LANGUAGES)
        assert point.address
        assert point.schedule.weekly, point.id


def _minimal(**overrides: Any) -> dict[str, Any]:
    point = {
        "id": "x",
        "kind": "library",
        "name": {"fi": "X", "sv": "X", "en": "X"},
        "address": "Katu 1",
        "match": {"fi": ["xkirjasto"]},
        "hours": {"mon": "08:00-16:00"},
    }
    point.update(overrides)
    return {
        "kinds": {"library": {"name": {"fi": "k", "sv": "b", "en": "l"}, "match": {"fi": ["kirjasto"]}}},
        "service_points": [point],
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": "zoo"}, "unknown kind"),
        ({"hours": {"mon": "16:00-08:00"}}, "closes before it opens"),
        ({"hours": {"monday": "08:00-16:00"}}, "unknown weekdays"),
        ({"name": {"fi": "X", "en": "X"}}, "missing text in sv"),
        ({"exceptions": [{"holiday": "christmass_day", "closed": True}]}, "unknown holiday"),
        ({"match": None}, "needs `match` or `district`"),
    ],
)
def test_service_point_errors_name_the_problem(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        ServicePoints(_minimal(**overrides))


def test_handoff_configuration_is_complete_and_its_texts_use_the_same_placeholders() -> None:
    import string

    from bot.core.paths import knowledge_dir
    from bot.knowledge.handoff_config import load_handoff_config

    config = load_handoff_config(knowledge_dir() / "handoff.yml")  # the shipped file, not the test copy
    assert set(config.queues) >= set(LANGUAGES)
    topics = {f"faq/{t}" for t in faq_topics()}
    assert config.topics_needing_person <= topics
    for key, texts in config.texts.items():
        fields = {lang: {f for _, f, _, _ in string.Formatter().parse(text) if f} for lang, text in texts.items()}
        assert fields["fi"] == fields["sv"] == fields["en"], key
    for reason in ("requested", "not_understood", "topic"):
        assert f"lead_{reason}" in config.texts


def test_handoff_configuration_errors_name_the_problem(tmp_path: Any) -> None:
    from bot.core.paths import knowledge_dir
    from bot.knowledge.handoff_config import load_handoff_config

    data = yaml.safe_load((knowledge_dir() / "handoff.yml").read_text(encoding="utf-8"))
    del data["queues"]["sv"]
    path = tmp_path / "handoff.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="missing \\['sv'\\]"):
        load_handoff_config(path)
