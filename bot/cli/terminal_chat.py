"""A terminal chat with the bot, over our token-protected Rasa channel on loopback.

Buttons are shown numbered; type the number to press one. ``/quit`` (or Ctrl-D) ends the chat.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any, TextIO


def send(rasa_url: str, token: str, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one message to the bot (``bot.rasa_plugins.channel``) and return its replies."""
    body = json.dumps({"sender": sender, "message": text, "channel": "terminal", "metadata": metadata}).encode()
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/citybot/webhook",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    replies = answer.get("replies") if isinstance(answer, dict) else None
    return replies if isinstance(replies, list) else []


def chat(
    rasa_url: str, token: str, language_hint: str | None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    """Run the chat loop until /quit or end of input."""
    sender = f"terminal:{uuid.uuid4().hex[:12]}"
    buttons: list[dict[str, Any]] = []
    metadata: dict[str, Any] = {"language_hint": language_hint} if language_hint else {}
    stdout.write("Type a message (fi/sv/en), a button's number to press it, or /quit.\n")
    while True:
        stdout.write("> ")
        stdout.flush()
        line = stdin.readline()
        if not line or line.strip() == "/quit":
            stdout.write("\n")
            return
        text = line.strip()
        if not text:
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            text = str(buttons[int(text) - 1]["payload"])
        try:
            replies = send(rasa_url, token, sender, text, metadata)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            stdout.write(f"(the bot did not answer: {exc})\n")
            continue
        buttons = []
        for reply in replies:
            if reply.get("text"):
                stdout.write(f"bot: {reply['text']}\n")
            for button in reply.get("buttons") or []:
                buttons.append(button)
                stdout.write(f"  [{len(buttons)}] {button.get('title')}\n")
