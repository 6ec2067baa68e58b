"""What the service says about a handoff, in the citizen's language (``knowledge/handoff.yml``)."""

from __future__ import annotations

import re
from typing import Mapping

from bot.core import clock
from bot.core.envelope import Button, Outbound
from bot.core.i18n import pick
from bot.core.protocol import Notice
from bot.handoff.cases import Availability
from bot.knowledge.files import load_calendar
from bot.knowledge.time_words import day_phrase, format_time

CANCEL_PAYLOAD = "/handoff_cancel"
RATING_PAYLOAD = "/handoff_rating_"
_RATING_TEXT = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*[.!]?\s*$")


def rating_of(text: str) -> int | None:
    """1-5 from a rating button (``/handoff_rating_4``) or a bare digit ("4", "4/5"), else None."""
    if text.startswith(RATING_PAYLOAD):
        tail = text[len(RATING_PAYLOAD) :]
        return int(tail) if tail in {"1", "2", "3", "4", "5"} else None
    match = _RATING_TEXT.match(text)
    return int(match.group(1)) if match else None


class HandoffTexts:
    """The handoff texts, filled in and made replies."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = texts

    def has(self, key: str) -> bool:
        """True when ``key`` is one of the texts."""
        return key in self._texts

    def say(self, key: str, language: str | None, **values: object) -> str:
        """The text ``key`` in ``language`` with its ``{placeholders}`` filled."""
        return pick(self._texts[key], language).format(**values)

    def reply(
        self,
        key: str,
        language: str | None,
        buttons: tuple[Button, ...] = (),
        notice: Notice | None = None,
        **values: object,
    ) -> Outbound:
        """The text as a reply from the service."""
        return Outbound(text=self.say(key, language, **values), buttons=buttons, language=language, notice=notice)

    def cancel_button(self, language: str | None) -> tuple[Button, ...]:
        """The button that takes a waiting citizen back to the bot."""
        return (Button(self.say("cancel_button", language), CANCEL_PAYLOAD),)

    def rating_buttons(self) -> tuple[Button, ...]:
        """Buttons 1-5 for the satisfaction question."""
        return tuple(Button(str(n), f"{RATING_PAYLOAD}{n}") for n in range(1, 6))

    def opening(self, availability: Availability, language: str | None) -> str:
        """ "maanantaina klo 8.00", "på måndag kl. 9.00", "on Monday at 9:00"."""
        assert availability.opens_at is not None
        calendar = load_calendar()
        lang = language or "fi"
        day = day_phrase(availability.opens_at.date(), clock.now().date(), lang, calendar)
        return self.say("opens_at", language, day=day, time=format_time(availability.opens_at, lang, calendar))
