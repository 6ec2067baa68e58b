"""Custom actions through a CollectingDispatcher with tracker fixtures (no servers)."""

from datetime import date, datetime
from typing import Any, Callable

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswerFaq, ActionRequestHuman
from actions.fallback import ActionClarify
from actions.language import ActionChangeLanguage, ValidateSlotMappings
from actions.opening_hours import ActionOpeningHours
from bot.knowledge.files import load_faq
from bot.knowledge.handoff_config import load_handoff_config
from bot.knowledge.opening_hours import CITY_TZ
from bot.knowledge.service_points import load_service_points

TrackerFactory = Callable[..., Tracker]


def fixed(text: str) -> Callable[[], datetime]:
    return lambda: datetime.fromisoformat(text).replace(tzinfo=CITY_TZ)


async def run(action: Any, tracker: Tracker, domain: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return dispatcher.messages, events


def sp(*ids: str, day: str | None = None) -> list[dict[str, Any]]:
    entities = [{"entity": "service_point", "value": i} for i in ids]
    if day:
        entities.append({"entity": "day", "value": day})
    return entities


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_faq_answer_in_the_conversation_language(
    tracker: TrackerFactory, domain_dict: dict[str, Any], lang: str
) -> None:
    messages, events = await run(
        ActionAnswerFaq(), tracker(intent="faq_library", slots={"language": lang}), domain_dict
    )
    assert events == [SlotSet("faq_topic", "library")]
    [message, links] = messages
    entry = load_faq()["library"]
    assert message["text"] == entry.answer[lang]  # no question: the overview
    assert [b["payload"] for b in message["buttons"]] == [
        f'/faq_library{{"faq_entry":"{e.id}"}}' for e in entry.entries[:4]
    ]
    assert links["custom"]["links"][0]["url"] == entry.link[lang]


async def test_faq_without_knowledge_falls_back(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    messages, _ = await run(ActionAnswerFaq(), tracker(intent="faq_no_such_topic"), domain_dict)
    assert [m["response"] for m in messages] == ["utter_default"]


async def test_request_human_asks_the_gateway_for_a_person(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    [message], _ = await run(
        ActionRequestHuman(), tracker(intent="request_human", slots={"language": "sv"}), domain_dict
    )
    assert message["custom"] == {"handoff": {"reason": "requested"}}


async def test_topic_needing_a_person_is_answered_then_handed_off(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    assert "faq/social_assistance" in load_handoff_config().topics_needing_person
    answer, _links, handoff = (await run(ActionAnswerFaq(), tracker(intent="faq_social_assistance"), domain_dict))[0]
    assert answer["text"] == load_faq()["social_assistance"].answer["fi"]
    assert handoff["custom"] == {"handoff": {"reason": "topic"}}
    messages, _ = await run(ActionAnswerFaq(), tracker(intent="faq_library"), domain_dict)
    assert [list(m.get("custom") or {}) for m in messages] == [[], ["links"]]  # no handoff


async def test_oodi_open_now_before_closing(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    action = ActionOpeningHours(now=fixed("2026-11-25T21:45:00"))  # Wednesday
    [message], _ = await run(action, tracker(intent="faq_opening_hours", entities=sp("oodi", day="now")), domain_dict)
    assert message["response"] == "utter_hours_open_now"
    assert message["name"] == "Keskustakirjasto Oodi" and message["closes"] == "22.00"


async def test_closed_now_says_when_it_opens(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    action = ActionOpeningHours(now=fixed("2026-11-25T22:00:00"))
    [message], _ = await run(
        action, tracker(intent="faq_opening_hours", entities=sp("oodi"), slots={"language": "en"}), domain_dict
    )
    assert message["response"] == "utter_hours_closed_now"
    assert (message["opens_day"], message["opens"]) == ("tomorrow", "8:00")


async def test_swedish_sunday_question(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    action = ActionOpeningHours(now=fixed("2026-11-25T12:00:00"))  # Wednesday
    [message], _ = await run(
        action,
        tracker(
            intent="faq_opening_hours", entities=sp("itakeskus_swimming_hall", day="sun"), slots={"language": "sv"}
        ),
        domain_dict,
    )
    assert message["response"] == "utter_hours_on_day"
    assert message["name"] == "Östra centrums simhall"
    assert (message["day"], message["hours"]) == ("på söndag", "9.00–19.00")


async def test_holiday_is_named(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    action = ActionOpeningHours(now=fixed("2026-12-24T12:00:00"))
    [message], _ = await run(
        action, tracker(intent="faq_opening_hours", entities=sp("kallio_library", day="tomorrow")), domain_dict
    )
    assert message["response"] == "utter_hours_closed_on_day_opens"
    assert message["day"] == "huomenna (joulupäivä)" and message["opens_day"] and message["opens"]


async def test_ambiguous_place_asks_with_buttons(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    [message], _ = await run(
        ActionOpeningHours(now=fixed("2026-11-25T12:00:00")),
        tracker(intent="faq_opening_hours", entities=sp("kallio_library", "kallio_health_station", day="tomorrow")),
        domain_dict,
    )
    assert message["response"] == "utter_hours_ask_place"
    assert [b["title"] for b in message["buttons"]] == ["Kallion kirjasto", "Kallion terveysasema"]
    assert (
        message["buttons"][0]["payload"] == '/faq_opening_hours{"service_point": "kallio_library", "day": "tomorrow"}'
    )


async def test_no_place_gives_the_general_answer(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    [message, links], _ = await run(ActionOpeningHours(), tracker(intent="faq_opening_hours"), domain_dict)
    assert message["text"] == load_faq()["opening_hours"].answer["fi"]
    assert links["custom"]["links"][0]["url"] == load_faq()["opening_hours"].link["fi"]


async def test_clarify_offers_two_topics_then_hands_off(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    ranking = [
        ("nlu_fallback", 0.6),
        ("greet", 0.3),
        ("faq_library", 0.25),
        ("faq_daycare_fees", 0.2),
        ("faq_preschool", 0.1),
    ]
    [first], _ = await run(
        ActionClarify(),
        tracker(intent="nlu_fallback", ranking=ranking, slots={"fallback_count": 1.0, "language": "en"}),
        domain_dict,
    )
    assert first["response"] == "utter_clarify"
    assert [b["payload"] for b in first["buttons"]] == ["/faq_library", "/faq_daycare_fees"]  # greet is never offered
    assert first["buttons"][0]["title"] == load_faq()["library"].title["en"]
    [second], _ = await run(
        ActionClarify(), tracker(intent="nlu_fallback", ranking=ranking, slots={"fallback_count": 2.0}), domain_dict
    )
    assert second["custom"] == {"handoff": {"reason": "not_understood"}}


async def test_word_salad_is_not_understood_even_with_an_emergency_first(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    """Scenario fi-nonsense-word-salad-then-real-question: "pyörä kaali sininen tiistai hyppää
    lusikka kirjasto" got the library-card answer; the classifier now marks it incoherent."""
    ranking = [("nlu_fallback", 0.6), ("faq_emergency", 0.3), ("faq_library", 0.2)]
    salad = tracker(intent="nlu_fallback", ranking=ranking, slots={"fallback_count": 1.0})
    salad.latest_message["incoherent"] = True
    [message], _ = await run(ActionClarify(), salad, domain_dict)
    assert message["response"] == "utter_default"
    salad.slots["fallback_count"] = 2.0  # the second miss in a row: a person, as for any miss
    [second], _ = await run(ActionClarify(), salad, domain_dict)
    assert second["custom"] == {"handoff": {"reason": "not_understood"}}


async def test_unsure_emergency_is_answered_not_asked(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    ranking = [("nlu_fallback", 0.6), ("faq_emergency", 0.4), ("faq_health_station", 0.35)]
    [message, _links], _ = await run(
        ActionClarify(), tracker(intent="nlu_fallback", ranking=ranking, slots={"fallback_count": 2.0}), domain_dict
    )
    assert message["text"] == load_faq()["emergency"].answer["fi"]


async def test_flat_ranking_with_emergency_second_is_a_question(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    ranking = [("nlu_fallback", 0.6), ("faq_health_station", 0.2), ("faq_emergency", 0.19), ("greet", 0.1)]
    [message], _ = await run(ActionClarify(), tracker(intent="nlu_fallback", ranking=ranking), domain_dict)
    assert message["response"] == "utter_clarify"
    assert [b["payload"] for b in message["buttons"]] == ["/faq_health_station", "/faq_emergency"]


async def test_slot_mappings_follow_language_and_count_fallbacks(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    action = ValidateSlotMappings()
    _, events = await run(
        action,
        tracker(text="Var finns närmaste hälsostation?", intent="faq_health_station", metadata={"language_hint": "en"}),
        domain_dict,
    )
    assert SlotSet("language", "sv") in events and SlotSet("language_source", "detected") in events
    assert SlotSet("fallback_count", 0.0) in events
    _, events = await run(
        action,
        tracker(text="in English please", intent="change_language", entities=[{"entity": "language", "value": "en"}]),
        domain_dict,
    )
    assert SlotSet("language", "en") in events and SlotSet("language_source", "explicit") in events
    _, events = await run(
        action, tracker(text="xyz", intent="nlu_fallback", slots={"fallback_count": 1.0}), domain_dict
    )
    assert SlotSet("fallback_count", 2.0) in events


async def test_button_payload_is_not_language_evidence(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    _, events = await run(
        ValidateSlotMappings(),
        tracker(text="/faq_library", intent="faq_library", slots={"language": "sv", "language_source": "detected"}),
        domain_dict,
    )
    assert SlotSet("language", "sv") in events


@pytest.mark.parametrize(
    ("entities", "response"),
    [([{"entity": "language", "value": "sv"}], "utter_language_changed"), ([], "utter_ask_language")],
)
async def test_change_language(
    tracker: TrackerFactory, domain_dict: dict[str, Any], entities: list[dict[str, Any]], response: str
) -> None:
    [message], _ = await run(ActionChangeLanguage(), tracker(intent="change_language", entities=entities), domain_dict)
    assert message["response"] == response
    if not entities:
        assert [b["payload"] for b in message["buttons"]] == [
            '/change_language{"language": "fi"}',
            '/change_language{"language": "sv"}',
            '/change_language{"language": "en"}',
        ]


@pytest.mark.parametrize(
    ("text_day", "lang", "expected"),
    [
        ("holiday:christmas_eve", "fi", ("utter_hours_on_day", "torstaina (jouluaatto)", "10.00–14.00")),
        ("holiday:midsummer_eve", "sv", ("utter_hours_closed_on_day_opens", "på fredag 25.6. (midsommarafton)", None)),
    ],
)
async def test_hours_on_a_named_holiday(
    tracker: TrackerFactory,
    domain_dict: dict[str, Any],
    text_day: str,
    lang: str,
    expected: tuple[str, str, str | None],
) -> None:
    action = ActionOpeningHours(now=fixed("2026-12-20T12:00:00"))  # Sunday
    [message], _ = await run(
        action,
        tracker(intent="faq_opening_hours", entities=sp("oodi", day=text_day), slots={"language": lang}),
        domain_dict,
    )
    assert (message["response"], message["day"], message.get("hours")) == expected


def test_slot_mapping_action_owns_exactly_the_custom_mapped_slots(domain_dict: dict[str, Any]) -> None:
    custom = {
        name
        for name, slot in domain_dict["slots"].items()
        if any(mapping.get("type") == "custom" for mapping in slot.get("mappings", []))
    }
    # faq_topic is set by action_answer_faq (the topic answered last), not extracted from messages.
    assert set(ValidateSlotMappings.OWN_SLOTS) == custom - {"faq_topic"}


async def test_slot_mappings_work_without_the_domain(tracker: TrackerFactory) -> None:
    _, events = await run(ValidateSlotMappings(), tracker(text="hej hej, hur mår du idag?", intent="greet"), {})
    assert SlotSet("language", "sv") in events


async def test_odd_slot_values_are_corrected(tracker: TrackerFactory) -> None:
    action = ValidateSlotMappings()
    dispatcher = CollectingDispatcher()
    t = tracker()
    assert action.validate_language("de", dispatcher, t, {}) == {"language": "fi"}
    assert action.validate_language_source("rumour", dispatcher, t, {}) == {"language_source": "default"}
    assert action.validate_fallback_count(-3, dispatcher, t, {}) == {"fallback_count": 0.0}
    assert action.validate_language("sv", dispatcher, t, {}) == {"language": "sv"}


def test_interval_ending_at_midnight_is_written_24() -> None:
    from datetime import date

    from bot.knowledge.files import load_calendar
    from bot.knowledge.opening_hours import DayHours, Interval
    from bot.knowledge.time_words import format_intervals

    day = DayHours(date(2026, 11, 25), (Interval.parse("08:00-24:00"),))
    assert format_intervals(day, "fi", load_calendar()) == "8.00–24.00"
    late = DayHours(date(2026, 11, 25), (Interval.parse("08:00-23:59"),))
    assert format_intervals(late, "en", load_calendar()) == "8:00–23:59"


async def test_a_place_name_does_not_decide_the_language(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    """Issue 12. Before: "when does Itäkeskus swimming hall open on Sunday?" on an English page
    was answered in Finnish: the Finnish name made the detector say Finnish."""
    text = "when does Itäkeskus swimming hall open on Sunday?"
    name = {"entity": "service_point", "value": "itakeskus_swimming_hall", "start": 10, "end": 19}
    _, events = await run(
        ValidateSlotMappings(),
        tracker(text=text, intent="opening_hours", entities=[name], metadata={"language_hint": "en"}),
        domain_dict,
    )
    assert SlotSet("language", "en") in events


async def test_a_day_closed_for_a_holiday_says_when_it_opens_next(
    tracker: TrackerFactory, domain_dict: dict[str, Any]
) -> None:
    """Issue 12. Before: "när öppnar Itäkeskus simhall på söndag?" on Independence Day got only
    "closed today (Independence Day)"."""
    action = ActionOpeningHours(now=fixed("2026-12-06T10:00:00"))  # Sunday, Independence Day
    [message], _ = await run(
        action,
        tracker(
            intent="faq_opening_hours", entities=sp("itakeskus_swimming_hall", day="sun"), slots={"language": "sv"}
        ),
        domain_dict,
    )
    assert message["response"] == "utter_hours_closed_on_day_opens"
    assert "självständighetsdagen" in message["day"]
    assert message["opens_day"] == "i morgon" and message["opens"]  # Monday 7 December


async def test_which_libraries_are_open_on_sunday(tracker: TrackerFactory, domain_dict: dict[str, Any]) -> None:
    """Issue 12: the places of a kind open at a time, with their hours (it used to ask "which one?")."""
    libraries = ["oodi", "kallio_library", "pasila_library", "itakeskus_library", "vuosaari_library"]
    entities = [*sp(*libraries, day="sun"), {"entity": "service_kind", "value": "library"}]
    action = ActionOpeningHours(now=fixed("2026-11-25T12:00:00"))  # Wednesday
    [message], _ = await run(
        action, tracker(intent="faq_opening_hours", entities=entities, slots={"language": "en"}), domain_dict
    )
    assert message["response"] == "utter_hours_open_places"
    assert message["day"] == "on Sunday" and "Oodi" in message["places"]
    shown = message["places"].split("; ")
    points = load_service_points().points
    open_sunday = [i for i in libraries if points[i].schedule.hours_on(date(2026, 11, 29)).is_open]
    assert len(shown) == len(open_sunday) >= 1  # only those open then, each with its hours
