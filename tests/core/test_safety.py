"""The safety layer on a real Redis with a fake bot: emergencies and crises first, in every state."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.core.i18n import LANGUAGES
from bot.handoff.agents import Agent
from bot.handoff.cases import CaseMode
from bot.safety.detector import Danger, Finding, SafetyRules, load_safety
from tests.core.conftest import Core

DATA = Path(__file__).parents[1] / "data"


async def test_a_crisis_is_answered_with_112_and_the_crisis_line_and_not_sent_to_the_bot(core: Core) -> None:
    """Before: "haluan kuolla" was read as opt_in_offers (0.95)."""
    [answer] = await core.say("webchat:a", "haluan kuolla")
    assert answer.text.split(".")[0].count("112") == 1 and "09 2525 0111" in answer.text
    assert core.bot.sent == []
    [citizen, bot] = await core.services.transcripts.read("webchat:a")
    assert citizen["safety"] == "crisis" and bot["text"] == answer.text


async def test_an_emergency_after_other_talk_is_answered_in_the_language_it_was_written_in(core: Core) -> None:
    [answer] = await core.say("webchat:a", "hej, jag ville fråga om biblioteket men det brinner i huset bredvid")
    assert answer.text.startswith("Ring nödnumret 112") and answer.language == "sv"


async def test_violence_at_home_with_a_weapon_gets_112_first_and_then_the_crisis_lines(core: Core) -> None:
    """Scenario en-safety-domestic-violence: a husband's knife threat got 112 without Nollalinja."""
    rules = load_safety()
    emergency, crisis = await core.say("webchat:a", "mieheni uhkaa minua veitsellä ja sanoo tappavansa")
    assert emergency.text == rules.say("emergency", "fi") and crisis.text == rules.say("crisis", "fi")
    assert "080 005 005" in crisis.text
    # A knife in the street is an emergency only: no crisis lines.
    assert len(await core.say("webchat:b", "metroasemalla on mies puukon kanssa")) == 1


def test_a_one_word_rule_in_a_message_the_model_knows_as_ordinary_is_vetoed() -> None:
    """Scenario near misses: "fire", "crash" and "112" alone alarmed on "we had a fire last
    winter", "my laptop crashed" and "we called 112 already"; a short cry still alarms."""
    rules = load_safety()
    for ordinary in (
        "we had a fire last winter, need housing",
        "my laptop crashed again today",
    ):
        assert rules.by_rules(ordinary) is not None and rules.assess(ordinary) is None, ordinary
    for cry in ("tulipalo!", "kolari", "fire!"):
        assert rules.assess(cry) is not None, cry
    assert rules.assess("naapurin talossa on tulipalo ja liekit näkyvät") is not None


async def test_near_misses_and_buttons_go_to_the_bot(core: Core) -> None:
    for text in ("milloin päivystys on auki?", "fire safety inspection of our housing company", "/affirm"):
        await core.say("webchat:a", text)
    assert [m.text for m in core.bot.sent] == [
        "milloin päivystys on auki?",
        "fire safety inspection of our housing company",
        "/affirm",
    ]


async def test_an_emergency_while_queued_or_with_an_agent_is_answered_and_marked(core: Core) -> None:
    agent = Agent("anna", "Anna", ("fi", "sv", "en"))
    await core.services.agents.create("anna", "Anna", "correct horse battery", agent.queues)
    await core.services.agents.heartbeat("anna")
    await core.say("webchat:a", "/request_human")
    queued, still = await core.say("webchat:a", "mieheni ei hengitä!!")  # 112 first, and the place kept
    assert queued.text.startswith("Soita heti hätänumeroon 112") and still.buttons
    assert (await core.services.cases.case("webchat:a")).mode is CaseMode.QUEUED  # still waiting for a person
    await core.services.handoff.claim("webchat:a", agent)
    [held] = await core.say("webchat:a", "he is not breathing")
    assert held.text.startswith("Call the emergency number 112")
    _, entries = await core.services.handoff.transcript("webchat:a", agent)
    assert [e.get("safety") for e in entries if e["from"] == "citizen"][-2:] == ["emergency", "emergency"]


async def test_after_an_emergency_a_closed_queue_and_a_fallback_repeat_112(core: Core) -> None:
    """Before: after an emergency turn, "I want a person" out of service hours got only "we are
    closed, leave a message". The 112 line comes first (the scenarios' authors, all three, expected
    it there: the emergency may still be going on)."""
    await core.say("webchat:a", "rintaan sattuu tosi pahasti")
    replies = await core.say("webchat:a", "haluan puhua ihmiselle")  # nobody online: leave a message
    assert replies[0].text == load_safety().say("repeat_112", "fi") and len(replies) > 1
    await core.services.cases.to_bot("webchat:a", "cancelled")
    replies = await core.say("webchat:a", "blorp blorp")
    assert replies[0].text == load_safety().say("repeat_112", "fi") and len(replies) > 1
    # Without an emergency, the same replies come without it.
    replies = await core.say("webchat:b", "blorp blorp")
    assert all(r.text != load_safety().say("repeat_112", "fi") for r in replies)


class _ModelFlags(SafetyRules):
    """The real rules, and a model that flags the messages it is given."""

    flags: dict[str, Danger] = {}

    def assess(self, text: str) -> Finding | None:
        if text in self.flags:
            return Finding(self.flags[text], "fi", "model 0.55")
        return super().assess(text)


async def test_a_follow_up_only_the_model_flags_gets_112_first_and_then_its_answer(core: Core) -> None:
    """Scenarios: "ambulanssi haki isän. ja joo, otetaan se päiväkotipaikka vastaan" after an
    emergency got the whole emergency answer again, and the offer was never answered."""
    rules = load_safety()
    stub = _ModelFlags(rules.rules, rules.exclusions, rules.texts)
    stub.flags = {"apu tuli jo, mutta kysyisin kirjastosta": Danger.EMERGENCY, "olen taakka": Danger.CRISIS}
    core.services.router._safety = stub
    # Without an emergency before, what the model flags is an alarm.
    [alarm] = await core.say("webchat:b", "apu tuli jo, mutta kysyisin kirjastosta")
    assert alarm.text == rules.say("emergency", "fi") and core.bot.sent == []
    # After one, it is answered, the 112 line first.
    await core.say("webchat:a", "naapurin talo palaa")
    line, answer = await core.say("webchat:a", "apu tuli jo, mutta kysyisin kirjastosta")
    assert line.text == rules.say("repeat_112", "fi") and answer.text.startswith("vastaus:")
    line, _ = await core.say("webchat:a", "olen taakka")  # the model's crisis, too
    assert line.text == rules.say("repeat_112", "fi")
    # While a person is involved, a follow-up goes to them with nothing from the bot (scenario
    # en-safety-unconscious-while-agent-holds: "In an emergency, call 112" came between them).
    agent = Agent("anna", "Anna", ("fi", "sv", "en"))
    await core.services.agents.create("anna", "Anna", "correct horse battery", agent.queues)
    await core.services.agents.heartbeat("anna")
    await core.say("webchat:c", "naapurin talo palaa")
    await core.say("webchat:c", "/request_human")
    await core.services.handoff.claim("webchat:c", agent)
    assert await core.say("webchat:c", "apu tuli jo, mutta kysyisin kirjastosta") == []
    # What a rule names is a new alarm.
    [again] = await core.say("webchat:a", "nyt se ei hengitä")
    assert again.text == rules.say("emergency", "fi")
    [crisis] = await core.say("webchat:a", "haluan kuolla")
    assert crisis.text == rules.say("crisis", "fi")


async def test_the_112_line_is_repeated_only_within_the_hour(core: Core) -> None:
    await core.services.conversations.mark_danger("webchat:c", "emergency", now=time.time() - 3700)
    assert not await core.services.conversations.in_danger("webchat:c")


def test_every_safety_text_leads_with_112_in_every_language() -> None:
    rules = load_safety()
    for key in ("emergency", "crisis"):
        for language in LANGUAGES:
            assert "112" in rules.say(key, language).split(".")[0]


def test_recognition_on_messages_written_by_people_who_never_saw_the_rules() -> None:
    """The floor on tests/data/safety_*.yml, rules and model together (docs/safety.md has the
    figures per half); the model learns from nlu/safety/, never from these messages."""
    rules = load_safety()

    def share(cases: list[dict[str, str]], kind: str, right: Callable[[Finding | None], bool]) -> float:
        chosen = [c for c in cases if c["kind"] == kind]
        return sum(right(rules.assess(c["text"])) for c in chosen) / len(chosen)

    for language in LANGUAGES:
        cases = yaml.safe_load((DATA / f"safety_{language}.yml").read_text(encoding="utf-8"))["cases"]
        assert share(cases, "emergency", lambda f: f is not None and f.danger is Danger.EMERGENCY) >= 0.9, language
        assert share(cases, "crisis", lambda f: f is not None) >= 0.85, language
        assert share(cases, "near_miss", lambda f: f is None) >= 0.8, language
        assert share(cases, "gibberish", lambda f: f is None) >= 0.85, language


async def test_an_emergency_closes_an_open_question(core: Core) -> None:
    """The next message consumes an open question, also when it is an emergency: a later "yes"
    must not confirm a "delete my data?" asked before it."""
    await core.services.links.link("webchat:a", "citizen-1", "test")
    await core.say("webchat:a", "poista tietoni")
    await core.say("webchat:a", "naapurissa palaa, savua joka puolella")
    await core.say("webchat:a", "kyllä")
    assert await core.services.links.citizen_of("webchat:a") == "citizen-1"


def test_the_model_scores_a_message_as_its_pipeline_does() -> None:
    """Issue 13's profile: the model scores one message through its fitted parts, not through the
    pipeline (joblib on every call); the probabilities are the pipeline's."""
    from bot.safety.classifier import load_model

    model = load_model()
    for language in LANGUAGES:
        cases = yaml.safe_load((DATA / f"safety_{language}.yml").read_text(encoding="utf-8"))["cases"]
        for case in cases[:40]:
            fast, slow = model.probabilities(case["text"]), model.pipeline_probabilities(case["text"])
            assert fast.keys() == slow.keys() and all(abs(fast[k] - slow[k]) < 1e-9 for k in fast), case["text"]
