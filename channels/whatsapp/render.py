"""Our replies as Cloud API messages, within WhatsApp's limits.

- Text: at most 4096 characters per message; a longer reply is split at paragraph or sentence
  ends. Links get a preview.
- Up to 3 options whose titles all fit 20 characters: reply buttons.
- More options, or a title too long for a button: a list message (up to 10 rows; row titles of 24
  characters, shortened at a word end with "…", the whole title then shown as the row's
  description of up to 72). An offer's four actions become a list.
- An interactive message's body holds 1024 characters: a longer reply goes first as text, and the
  options follow under a short "Choose:" in the reply's language.
- An agent's message starts with their name, in bold, so the citizen sees a person wrote it.
"""

from __future__ import annotations

from typing import Any, Callable

from bot.core.envelope import Button, Outbound
from bot.core.i18n import pick

MAX_TEXT = 4096
MAX_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ID = 256


def shorten(title: str, limit: int) -> str:
    """``title`` in at most ``limit`` characters: cut at a word end and marked with "…"."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–") + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at paragraph, line or sentence ends."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(". "))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit - 1
        pieces.append(rest[: cut + 1].strip())
        rest = rest[cut + 1 :].strip()
    if rest:
        pieces.append(rest)
    return pieces


def fits_buttons(buttons: tuple[Button, ...]) -> bool:
    """True when the options can be reply buttons (else a list)."""
    return 0 < len(buttons) <= MAX_BUTTONS and all(len(b.title.strip()) <= MAX_BUTTON_TITLE for b in buttons)


def text_of(reply: Outbound, strings: dict[str, dict[str, str]]) -> str:
    """The reply's text as the citizen reads it (an agent's name first)."""
    text = reply.text.strip()
    if reply.links:  # WhatsApp shows text only: each link's title, then its address
        text = "\n\n".join([text, *(f"{link.title}: {link.url}" for link in reply.links)]).strip()
    if reply.sender == "agent" and reply.agent_name:
        label = pick(strings["agent_label"], reply.language).format(name=reply.agent_name)
        text = f"*{label}*\n{text}"
    return text


def render(
    reply: Outbound, to: str, ids: Callable[[str], str], strings: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    """The Cloud API messages (without ``messaging_product``) for one reply to ``to``. ``ids``
    gives each button payload's id (a payload itself when short, else a stored key)."""
    text = text_of(reply, strings)
    buttons = reply.buttons[:MAX_ROWS]
    if not buttons:
        return [
            {"to": to, "type": "text", "text": {"body": piece, "preview_url": bool(reply.links)}}
            for piece in split_text(text or "…")
        ]
    messages: list[dict[str, Any]] = []
    body = text
    if not body or len(body) > MAX_BODY:
        if body:
            messages += [
                {"to": to, "type": "text", "text": {"body": piece, "preview_url": bool(reply.links)}}
                for piece in split_text(body)
            ]
        body = pick(strings["choose"], reply.language)
    if fits_buttons(buttons):
        action: dict[str, Any] = {
            "buttons": [{"type": "reply", "reply": {"id": ids(b.payload), "title": b.title.strip()}} for b in buttons]
        }
        interactive = {"type": "button", "body": {"text": body}, "action": action}
    else:
        rows = []
        for button in buttons:
            title = shorten(button.title, MAX_ROW_TITLE)
            row = {"id": ids(button.payload), "title": title}
            if title != " ".join(button.title.split()):
                row["description"] = shorten(button.title, MAX_ROW_DESCRIPTION)
            rows.append(row)
        label = shorten(pick(strings["list_button"], reply.language), MAX_BUTTON_TITLE)
        action = {"button": label, "sections": [{"rows": rows}]}
        interactive = {"type": "list", "body": {"text": body}, "action": action}
    messages.append({"to": to, "type": "interactive", "interactive": interactive})
    return messages
