"""Answers with depth (issue 16): the entry that answers the question, follow-ups, items' bins.

The findings of the issue are the first tests: each question got its topic's one paragraph.
The accuracy on follow-up questions written by people who never saw the entries is held here
at the issue's aim (90 % per language); `python -m bench.answer_eval` prints the figures.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswerFaq
from actions.fallback import ActionClarify
from bench.answer_eval import DEFAULT_CASES, load, picker_accuracy
from bot.cli.supervisor import Stack
from bot.knowledge.answer_picker import answer_picker
from bot.knowledge.files import load_faq
from bot.knowledge.waste import load_sorting_list

TrackerFactory = Callable[..., Tracker]

# (language, intent the model gives, question, topic, the entry that answers it)
FINDINGS = [
    ("en", "faq_sports_facilities", "how much is a swim ticket?", "sports_facilities", "swimming_prices"),
    ("en", "faq_sports_facilities", "does the gym come with the same ticket?", "sports_facilities", "gym"),
    ("sv", "faq_elderly_services", "vad kostar hemvården per månad?", "elderly_services", "home_care_fees"),
    ("en", "faq_preschool", "when is preschool enrolment?", "preschool", "enrolment"),
    ("en", "faq_library", "how do I renew my loans?", "library", "renew_loans"),
    ("fi", "faq_library", "miten voin uusia lainani?", "library", "renew_loans"),
]


async def answer(
    tracker: TrackerFactory, domain: dict[str, Any], text: str, intent: str, language: str, **slots: Any
) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerFaq().run(
        dispatcher, tracker(text=text, intent=intent, slots={"language": language, **slots}), domain
    )
    return dispatcher.messages, events


@pytest.mark.parametrize(("language", "intent", "question", "topic", "entry_id"), FINDINGS)
async def test_each_question_gets_the_entry_that_answers_it(
    tracker: TrackerFactory,
    domain_dict: dict[str, Any],
    language: str,
    intent: str,
    question: str,
    topic: str,
    entry_id: str,
) -> None:
    messages, events = await answer(tracker, domain_dict, question, intent, language)
    faq = load_faq()[topic]
    entry = faq.entry(entry_id)
    assert entry is not None
    text, links = messages
    assert text["text"] == entry.answer[language] and text["text"] != faq.answer[language]
    assert len(text["text"].split()) <= 60
    assert entry_id not in [b["payload"] for b in text["buttons"]]
    assert all(b["payload"].startswith(f'/faq_{topic}{{"faq_entry":') for b in text["buttons"])
    assert 1 <= len(text["buttons"]) <= 4
    [link] = links["custom"]["links"]
    assert link["url"].startswith("https://") and link["title"] and "http" not in link["title"]
    assert events == [SlotSet("faq_topic", topic)]


async def test_the_loan_renewal_answer_does_not_start_with_the_library_card(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    messages, _ = await answer(tracker, domain_dict, "how do I renew my loans?", "faq_library", "en")
    assert "renew" in messages[0]["text"].split(".")[0].lower()


async def test_a_follow_up_button_answers_its_entry(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    first, _ = await answer(tracker, domain_dict, "how much is a swim ticket?", "faq_sports_facilities", "en")
    button = first[0]["buttons"][0]
    entry_id = button["payload"].split('"faq_entry":"')[1].rstrip('"}')
    t = tracker(
        text=button["payload"],
        intent="faq_sports_facilities",
        entities=[{"entity": "faq_entry", "value": entry_id}],
        slots={"language": "en"},
    )
    dispatcher = CollectingDispatcher()
    await ActionAnswerFaq().run(dispatcher, t, domain_dict)
    entry = load_faq()["sports_facilities"].entry(entry_id)
    assert entry is not None and dispatcher.messages[0]["text"] == entry.answer["en"]


async def test_a_question_no_entry_answers_gets_the_overview_and_the_entries_to_choose(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    messages, _ = await answer(tracker, domain_dict, "kirjastot", "faq_library", "fi")
    faq = load_faq()["library"]
    assert messages[0]["text"] == faq.answer["fi"]
    assert [b["title"] for b in messages[0]["buttons"]] == [e.title["fi"] for e in faq.entries[:4]]


@pytest.mark.parametrize(
    ("language", "intent", "question", "bin_words"),
    [
        ("fi", "faq_waste_sorting", "mihin laitan pizzalaatikon?", ("kartonki",)),
        ("sv", "faq_bulky_waste", "var lämnar jag gamla batterier?", ("batteri",)),
        ("sv", "faq_waste_sorting", "var lämnar jag gamla batterier?", ("batteri",)),
        ("en", "faq_waste_sorting", "where do I put a pizza box?", ("cardboard",)),
    ],
)
async def test_where_an_item_goes(
    tracker: TrackerFactory,
    domain_dict: dict[str, Any],
    language: str,
    intent: str,
    question: str,
    bin_words: tuple[str, ...],
) -> None:
    """Before: a generic sorting paragraph that never said cardboard; the bulky-waste answer for
    batteries."""
    messages, _ = await answer(tracker, domain_dict, question, intent, language)
    item = load_sorting_list().find(question)
    assert item is not None
    assert messages[0]["text"] == item.answer(language)
    assert any(word in messages[0]["text"].lower() for word in bin_words), messages[0]["text"]


def test_the_sorting_list_has_150_items_in_three_languages() -> None:
    items = load_sorting_list().items
    assert len(items) >= 150
    assert all(set(item.names) == {"fi", "sv", "en"} for item in items)


async def test_a_follow_up_the_model_could_not_place_is_read_within_the_last_topic(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    t = tracker(
        text="entä uimahallin hinnat eläkeläisille?",
        intent="nlu_fallback",
        ranking=[("nlu_fallback", 0.5), ("faq_sports_facilities", 0.3)],
        slots={"language": "fi", "faq_topic": "sports_facilities"},
    )
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(dispatcher, t, domain_dict)
    entry = load_faq()["sports_facilities"].entry("swimming_prices")
    assert entry is not None and dispatcher.messages[0]["text"] == entry.answer["fi"]


@pytest.mark.parametrize("path", DEFAULT_CASES, ids=lambda p: p.stem)
def test_follow_ups_by_other_authors_get_the_right_entry_nine_times_in_ten(path: Any) -> None:
    language, cases = load(path)
    assert len(cases) >= 100
    result = picker_accuracy(answer_picker(), language, cases)
    assert result["accuracy"] >= 0.9, result["misses"][:10]


async def test_a_conversation_gets_each_follow_up_answered_by_its_entry(stack: Stack, chat: Any) -> None:
    """Through the running bot: the model recognises the topic, the entry answers, and a short
    follow-up without the topic's words stays in it."""
    faq = load_faq()["sports_facilities"]
    person = chat()
    [prices, *_] = person.say("how much is a swim ticket?", language_hint="en")
    assert prices["text"] == faq.entry("swimming_prices").answer["en"]  # type: ignore[union-attr]
    [gym, *_] = person.say("does the gym come with the same ticket?")
    assert gym["text"] == faq.entry("gym").answer["en"]  # type: ignore[union-attr]
    assert [b["title"] for b in gym["buttons"]][:1] == [faq.entries[0].title["en"]]
