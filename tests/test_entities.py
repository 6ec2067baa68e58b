"""Service points, days and languages recognised by stems, in fi/sv/en and inflected forms."""

import pytest

from bot.knowledge.entities import KnowledgeEntities
from bot.knowledge.matching import StemMatcher


@pytest.fixture(scope="module")
def entities() -> KnowledgeEntities:
    return KnowledgeEntities.load()


def found(entities: KnowledgeEntities, text: str, kind: str) -> list[str]:
    return [e["value"] for e in entities.extract(text) if e["entity"] == kind]


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("is Oodi open now?", "oodi"),
        ("onko Oodissa vielä auki", "oodi"),
        ("milloin pääsee Oodiin", "oodi"),
        ("när öppnar Itäkeskus simhall på söndag?", "itakeskus_swimming_hall"),
        ("Itäkeskuksen uimahalli aukioloajat", "itakeskus_swimming_hall"),
        ("itakeskuksen uimahallin aukiolo", "itakeskus_swimming_hall"),
        ("itiksen kirjasto auki?", "itakeskus_library"),
        ("har Berghälls bibliotek öppet", "kallio_library"),
        ("is the Kallio health station open today", "kallio_health_station"),
        ("Mäkelänrinteen uintikeskus", "makelanrinne_swimming_centre"),
        ("öppettider för Ode", "oodi"),
    ],
)
def test_service_point_found(entities: KnowledgeEntities, text: str, point: str) -> None:
    assert found(entities, text, "service_point") == [point]


def test_district_without_kind_is_ambiguous(entities: KnowledgeEntities) -> None:
    assert set(found(entities, "onko Kallio auki", "service_point")) == {
        "kallio_library",
        "kallio_health_station",
    }


def test_kind_alone_lists_every_point_of_that_kind(entities: KnowledgeEntities) -> None:
    points = found(entities, "milloin uimahalli aukeaa", "service_point")
    assert len(points) >= 5 and all("swimming" in p for p in points)


def test_no_place_no_entity(entities: KnowledgeEntities) -> None:
    assert found(entities, "miten haen päivähoitopaikkaa", "service_point") == []


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("aukeaako sunnuntaina", "sun"),
        ("på söndag", "sun"),
        ("on Sunday", "sun"),
        ("huomenna", "tomorrow"),
        ("i morgon", "tomorrow"),
        ("is it open now", "now"),
        ("tänään", "today"),
        ("lauantaina", "sat"),
    ],
)
def test_days(entities: KnowledgeEntities, text: str, day: str) -> None:
    assert found(entities, text, "day") == [day]


def test_common_words_are_not_days(entities: KnowledgeEntities) -> None:
    # "to", "la", "sun" and Swedish "fri" are weekday abbreviations but also ordinary words.
    assert found(entities, "I want to go to the sun deck, fri entré", "day") == []


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("in English please", "en"),
        ("voitko puhua englanniksi", "en"),
        ("på svenska tack", "sv"),
        ("puhu suomea", "fi"),
        ("kan du svara på finska", "fi"),
        ("can we speak swedish", "sv"),
    ],
)
def test_languages(entities: KnowledgeEntities, text: str, lang: str) -> None:
    assert lang in found(entities, text, "language")


def test_short_stems_match_whole_words_only() -> None:
    matcher = StemMatcher([("fin", "fi"), ("kirjasto", "library")])
    assert matcher.keys_in("final kirjastossa") == ["library"]
    assert matcher.keys_in("fin") == ["fi"]


def test_entity_spans_point_into_the_text(entities: KnowledgeEntities) -> None:
    text = "Onko Oodissa auki?"
    [entity] = [e for e in entities.extract(text) if e["entity"] == "service_point"]
    assert text[entity["start"] : entity["end"]] == "Oodissa"


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("onko Oodi auki jouluaattona", "holiday:christmas_eve"),
        ("har biblioteket öppet på julafton", "holiday:christmas_eve"),
        ("is the library open on Christmas Eve", "holiday:christmas_eve"),
        ("aukeeko kirjasto juhannuksena", "holiday:midsummer_eve"),
        ("onko auki juhannuspäivänä", "holiday:midsummer_day"),
        ("open on new year's eve?", "holiday:new_years_eve"),
    ],
)
def test_holidays_are_days(entities: KnowledgeEntities, text: str, day: str) -> None:
    assert found(entities, text, "day") == [day]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("vaihdetaanko suomeen, vaimoni ymmärtää sitä paremmin", "fi"),  # issue 12: was a change to an offer
        ("siirrytäänkö englantiin", "en"),
        ("vaihdetaan ruotsiin kiitos", "sv"),
    ],
)
def test_a_language_named_in_the_illative_is_found(entities: KnowledgeEntities, text: str, language: str) -> None:
    assert [e["value"] for e in entities.extract(text) if e["entity"] == "language"] == [language]
