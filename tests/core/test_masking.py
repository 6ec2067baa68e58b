"""Issue 14, item 1: personal data masked before anything stores it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.masking_eval import DEFAULT_CASES, evaluate, load
from bot.privacy.masking import Kind, Masker, default_masker, valid_iban
from tests.core.conftest import Core

CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def identity_code(day: int, month: int, year: int, sign: str, number: int) -> str:
    digits = f"{day:02d}{month:02d}{year % 100:02d}"
    return f"{digits}{sign}{number:03d}{CHECK[int(f'{digits}{number:03d}') % 31]}"


@pytest.mark.parametrize("sign", list("+-YXWVUABCDEF"))
def test_identity_codes_with_every_century_sign_are_masked(sign: str) -> None:
    code = identity_code(13, 10, 52, sign, 308)
    masked = default_masker().mask(f"hetu {code} kiitos", "fi")
    assert masked.text == "hetu [henkilötunnus] kiitos" and [f.kind for f in masked.found] == [Kind.IDENTITY_CODE]
    assert default_masker().mask(f"hetu {code.lower()}", "sv").text == "hetu [personbeteckning]"


def test_a_wrong_check_character_or_date_is_an_ordinary_string() -> None:
    code = identity_code(13, 10, 52, "-", 308)
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    for text in (f"tilaus {wrong}", "päivä 310252-308T", "koodi 131352-308T"):
        assert default_masker().find(text) == [], text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("soita 040 123 4567", Kind.PHONE),
        ("ring +358 40 123 4567 tack", Kind.PHONE),
        ("call (09) 310 11111", Kind.PHONE),
        ("maili matti.meikalainen@example.fi", Kind.EMAIL),
        ("tili FI21 1234 5600 0007 85", Kind.IBAN),
        ("kort 4111 1111 1111 1111", Kind.CARD),
        ("asun Mannerheimintie 12 B 34", Kind.ADDRESS),
        ("I live at 221B Baker Street", Kind.ADDRESS),
    ],
)
def test_each_kind_is_found(text: str, kind: Kind) -> None:
    assert [f.kind for f in default_masker().find(text)] == [kind]


def test_look_alikes_are_left_alone() -> None:
    for text in (
        "auki 8.00–20.00, hinta 12,50 €",
        "tilausnumero 2023-118845, asia HEL 2024-001234",
        "laskun viite 1234 5678 9012 3456 7",
        "Laskuviite RF18 5390 0754 7034",
        "Y-tunnus 0201256-6",
        "00100 Helsinki, linja 55",
        "päivämäärä 01-03-2025",
        "asun Mannerheimintien varrella",
    ):
        assert default_masker().find(text) == [], text


def test_iban_check() -> None:
    assert valid_iban("FI2112345600000785") and not valid_iban("FI2112345600000786")


def test_recall_and_false_masks_on_messages_written_by_others() -> None:
    """The aims (issue 14): recall at least 99 %, false masks at most 1 %, on the sets written by
    helpers who had not seen the masker (tests/data/pii_*.yml; bench.masking_eval prints them)."""
    masker = Masker()
    for path in DEFAULT_CASES:
        language, cases = load(Path(path))
        result = evaluate(masker, cases)
        assert len(cases) >= 80 and result["values"] >= 50, path
        assert result["recall"] >= 0.99, (language, result["misses"])
        assert result["false_masks_per_message"] <= 0.01, (language, result["false_masks"])


async def test_the_bot_and_the_transcript_get_the_masked_message(core: Core) -> None:
    """Before: every value reached Rasa's tracker and the transcript (issue 14's table)."""
    text = "hetu 131052-308T, soita 040 123 4567 tai matti@example.fi"
    await core.say("webchat:a", text)
    [sent] = core.bot.sent
    assert sent.text == "hetu [henkilötunnus], soita [puhelinnumero] tai [sähköposti]"
    said = [e["text"] for e in await core.services.transcripts.read("webchat:a")]
    assert said[0] == sent.text and not any("131052" in t or "040 123" in t or "matti@" in t for t in said)


async def test_masked_in_the_conversations_language(core: Core) -> None:
    await core.services.conversations.touch("webchat:b", "webchat", "sv")
    await core.say("webchat:b", "mitt nummer är 040 123 4567")
    assert core.bot.sent[-1].text == "mitt nummer är [telefonnummer]"


async def test_button_payloads_are_ours_and_not_masked(core: Core) -> None:
    await core.say("webchat:a", '/faq_library{"ref": "0401234567"}')
    assert [m.text for m in core.bot.sent] == ['/faq_library{"ref": "0401234567"}']
