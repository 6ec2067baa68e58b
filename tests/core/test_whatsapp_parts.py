"""The WhatsApp channel's parts without a network: signatures, payload parsing, rendering within
WhatsApp's limits, and the templates file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.core.envelope import Button, Outbound
from bot.offers.texts import load_offer_texts
from channels.whatsapp.channel import channel_strings, language_hint
from channels.whatsapp.render import fits_buttons, render, shorten, split_text
from channels.whatsapp.templates import TemplateConfigError, load_templates, parameter_text
from channels.whatsapp.webhook import parse_delivery, signature, signed_by

STRINGS = channel_strings()
TEXTS = load_offer_texts()


def test_the_signature_matches_the_documented_test_vector() -> None:
    expected = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    assert signature(b"test", "secret") == expected
    assert signed_by(b"test", expected, "secret")
    assert not signed_by(b"test ", expected, "secret")  # one byte more
    assert not signed_by(b"test", expected.upper(), "secret")
    assert not signed_by(b"test", expected, "")  # no app secret: nothing verifies
    assert not signed_by(b"test", None, "secret")


def _value(**value: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "PN"}, **value}


def test_a_batched_delivery_yields_every_message_and_status_in_order() -> None:
    data = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": _value(
                            messages=[
                                {
                                    "from": "358401",
                                    "id": "m1",
                                    "timestamp": "1",
                                    "type": "text",
                                    "text": {"body": "hei"},
                                },
                                {
                                    "from": "358401",
                                    "id": "m2",
                                    "timestamp": "2",
                                    "type": "interactive",
                                    "interactive": {"type": "list_reply", "list_reply": {"id": "/x", "title": "X"}},
                                },
                            ]
                        ),
                    },
                    {"field": "account_update", "value": {"event": "x"}},  # not ours: skipped
                ]
            },
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": _value(
                            messages=[
                                {
                                    "from": "46701",
                                    "id": "m3",
                                    "timestamp": "3",
                                    "type": "button",
                                    "button": {"text": "OK", "payload": "/p"},
                                },
                                {"from": "46701", "id": "m4", "timestamp": "4", "type": "image", "image": {"id": "i"}},
                                {"from": "46701", "id": "m5", "timestamp": "5", "type": "reaction", "reaction": {}},
                                {"id": "broken"},  # no sender: skipped, the rest kept
                            ],
                            statuses=[
                                {
                                    "id": "w1",
                                    "status": "failed",
                                    "timestamp": "6",
                                    "recipient_id": "46701",
                                    "errors": [{"code": 131026, "title": "Message undeliverable"}],
                                },
                                {"id": "w2", "status": "read", "timestamp": "7", "recipient_id": "46701"},
                            ],
                        ),
                    }
                ]
            },
        ],
    }
    delivery = parse_delivery(data)
    assert [(m.message_id, m.kind, m.text) for m in delivery.messages] == [
        ("m1", "text", "hei"),
        ("m2", "button", "/x"),
        ("m3", "button", "/p"),
        ("m4", "other", ""),
        ("m5", "ignored", ""),
    ]
    assert delivery.messages[0].phone_number_id == "PN"
    assert [(s.message_id, s.status, s.error_code, s.error_title) for s in delivery.statuses] == [
        ("w1", "failed", 131026, "Message undeliverable"),
        ("w2", "read", None, ""),
    ]


@pytest.mark.parametrize("data", [[], {"object": "page", "entry": []}, {"object": "whatsapp_business_account"}])
def test_what_is_not_a_whatsapp_notification_is_refused(data: Any) -> None:
    with pytest.raises(ValueError):
        parse_delivery(data)


def _buttons(*titles: str) -> tuple[Button, ...]:
    return tuple(Button(title, f"/payload{i}") for i, title in enumerate(titles))


def test_three_short_options_are_reply_buttons_and_four_are_a_list() -> None:
    three = render(Outbound("Valitse", _buttons("Yksi", "Kaksi", "Kolme"), language="fi"), "358", str, STRINGS)
    assert [m["interactive"]["type"] for m in three] == ["button"]
    four = render(Outbound("Valitse", _buttons("1", "2", "3", "4"), language="fi"), "358", str, STRINGS)
    [listed] = four
    assert listed["interactive"]["type"] == "list"
    assert listed["interactive"]["action"]["button"] == "Näytä vaihtoehdot"
    assert [r["id"] for r in listed["interactive"]["action"]["sections"][0]["rows"]] == [
        f"/payload{i}" for i in range(4)
    ]


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_an_offers_options_fit_a_list_in_every_language(language: str) -> None:
    titles = [TEXTS.say(f"button_{name}", language) for name in ("accept", "change", "human", "why")]
    [message] = render(Outbound("Tarjous", _buttons(*titles), language=language), "358", str, STRINGS)
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == [shorten(t, 24) for t in titles]
    assert all(len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in rows)
    assert len(message["interactive"]["action"]["button"]) <= 20


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("Ansökan om plats i förskoleundervisning", "Ansökan om plats i…"),
        ("Esiopetukseen ilmoittautuminen ja hakeminen", "Esiopetukseen…"),
        ("Applying for a place in early childhood education", "Applying for a place…"),
        ("Lasten­päivä­hoito­hakemus­lomake­ohjeet", "Lasten­päivä­hoito­hake…"),  # no space: cut
    ],
)
def test_long_titles_are_shortened_at_a_word_end_and_the_whole_title_is_the_description(title: str, short: str) -> None:
    assert shorten(title, 24) == short and len(short) <= 24
    [message] = render(Outbound("Valitse", _buttons(title, "Toinen"), language="sv"), "46", str, STRINGS)
    assert not fits_buttons(_buttons(title))  # too long for a button: a list
    [row, _] = message["interactive"]["action"]["sections"][0]["rows"]
    assert row["title"] == short and row["description"] == title


def test_a_long_reply_with_options_goes_as_text_then_a_short_choice() -> None:
    text = "Pitkä vastaus. " * 100  # 1500 characters: over the interactive body's 1024
    messages = render(Outbound(text, _buttons("Kyllä", "Ei"), language="fi"), "358", str, STRINGS)
    assert [m["type"] for m in messages] == ["text", "interactive"]
    assert messages[0]["text"]["body"] == text.strip()
    assert messages[1]["interactive"]["body"]["text"] == "Valitse:"


def test_text_over_4096_characters_is_split_at_sentence_ends() -> None:
    text = " ".join(f"Lause numero {i} päättyy tähän." for i in range(300))
    pieces = split_text(text)
    assert len(pieces) == 3 and all(len(p) <= 4096 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text


def test_an_agents_message_starts_with_their_name_in_the_language() -> None:
    reply = Outbound("Hej!", language="sv", sender="agent", agent_name="Aino")
    [message] = render(reply, "46", str, STRINGS)
    assert message["text"]["body"] == "*Aino, stadens kundtjänst*\nHej!"


def test_language_hint_from_the_country_code() -> None:
    assert [language_hint(n) for n in ("358401234567", "46701234567", "447700900123")] == [None, "sv", "en"]


def test_the_shipped_templates_cover_every_offer_kind_and_language() -> None:
    templates = load_templates()
    assert set(templates.languages) == {"fi", "sv", "en"}
    message = templates.message(
        "358401",
        templates.offers["school_placement"],
        "sv",
        {"child_name": "Elsa", "school_name": "Skola", "start_date": "5.8.", "respond_by": "1.6.\n2027"},
        {"accept": "/a", "change": "/c", "human": "/h", "why": "/w"},
    )
    template = message["template"]
    assert template["language"] == {"code": "sv"} and template["name"] == "citybot_school_place_offer"
    assert [p["text"] for p in template["components"][0]["parameters"]] == ["Elsa", "Skola", "5.8.", "1.6. 2027"]
    assert [c["parameters"][0]["payload"] for c in template["components"][1:]] == ["/a", "/c", "/h"]


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("languages: {fi: fi}\n", "languages must give a code"),
        ("languages: {fi: fi, sv: sv, en: en}\noffers: {}\n", "no template for offer kind"),
        (
            "languages: {fi: fi, sv: sv, en: en}\noffers:\n"
            "  school_placement: {name: x, body: [shoe_size]}\n"
            "  daycare_placement: {name: x}\n  screening_invitation: {name: x}\nreply_waiting: {name: y}\n",
            "body values must be some of",
        ),
        (
            "languages: {fi: fi, sv: sv, en: en}\noffers:\n"
            "  school_placement: {name: Bad Name}\n"
            "  daycare_placement: {name: x}\n  screening_invitation: {name: x}\nreply_waiting: {name: y}\n",
            "name must be lowercase",
        ),
        ("[unclosed", "not valid YAML"),
    ],
)
def test_a_wrong_templates_file_is_refused_with_what_is_wrong(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "templates.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TemplateConfigError, match=complaint):
        load_templates(path)


def test_template_parameters_lose_new_lines_and_runs_of_spaces() -> None:
    assert parameter_text("Lauttasaaren\nala-aste      \tkoulu") == "Lauttasaaren ala-aste koulu"
    assert parameter_text("   ") == "-"
