"""An offer's card (its title and key facts, knowledge/offers.yml): built in the citizen's
language, kept whole in the outbox for a page opened later, and checked when the texts load."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.outbox import reply_from_json, reply_json
from bot.core.envelope import Button, Card, Fact, Outbound
from bot.core.errors import KnowledgeError
from bot.core.paths import knowledge_dir
from bot.offers.texts import load_offer_texts


def test_every_kind_has_facts_in_three_languages_made_of_its_placeholders() -> None:
    texts = load_offer_texts()
    values = {
        "child_name": "Elsa",
        "school_name": "Lauttasaaren ala-asteen koulu",
        "school_address": "Myllykalliontie 3",
        "start_date": "5.8.2027",
        "daycare_name": "Päiväkoti Tähti",
        "daycare_address": "Tähtitie 1",
        "screening_name": "Mammografia",
        "place": "Kalasatama",
        "appointment_time": "3.3.2027 klo 9.15",
    }
    for kind in texts.kinds:
        facts = {language: texts.card_facts(kind, language, **values) for language in ("fi", "sv", "en")}
        assert len(facts["fi"]) >= 3 and len({len(f) for f in facts.values()}) == 1, kind
        assert [value for _, value in facts["fi"]] == [value for _, value in facts["sv"]]  # the same facts
        assert len({f[0][0] for f in facts.values()}) == 3  # the first label in three words: translated
    assert texts.card_facts("school_placement", "en", **values)[1] == (
        "School",
        "Lauttasaaren ala-asteen koulu, Myllykalliontie 3",
    )


def test_a_card_survives_the_outbox() -> None:
    card = Card("Koulupaikka", (Fact("Lapsi", "Elsa"), Fact("Vastaa viimeistään", "20.12.2026")))
    reply = Outbound(text="Lapsesi Elsa…", buttons=(Button("Hyväksy", "/offer:accept:o1"),), card=card, offer_id="o1")
    assert reply_from_json(reply_json(reply)) == reply
    assert reply_from_json(reply_json(Outbound(text="hei"))).card is None


def test_a_fact_with_a_placeholder_the_message_lacks_is_refused(tmp_path: Path) -> None:
    for name in ("offers.yml", "mydata.yml", "calendar.yml"):
        source = knowledge_dir() / name
        if source.exists():
            (tmp_path / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    offers = tmp_path / "offers.yml"
    offers.write_text(offers.read_text(encoding="utf-8").replace('value: "{child_name}"', 'value: "{child_id}"', 1))
    with pytest.raises(KnowledgeError, match="child_id"):
        load_offer_texts(tmp_path)
