"""A fake Telegram Bot API server on loopback: records calls, answers like Telegram does.

Only the methods our channel uses are implemented; any other method answers 404 with Telegram's
error shape, so a test fails loudly if the channel starts calling something new.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Citybot", "username": "citybot_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeTelegram:
    """State of the fake server: the calls it got, in order."""

    token: str
    calls: list[Call] = field(default_factory=list)
    next_message_id: int = 1
    pending: list[dict[str, Any]] = field(default_factory=list)  # updates for getUpdates (polling)

    def queue_update(self, update: dict[str, Any]) -> None:
        """An update that the next getUpdates returns (as Telegram does for a polling bot)."""
        self.pending.append(update)

    def sent(self) -> list[dict[str, Any]]:
        """Parameters of every sendMessage, in order."""
        return [c.params for c in self.calls if c.method == "sendMessage"]

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            raw: dict[str, Any] = await request.json()
        else:
            raw = dict(await request.post())
        params = {k: _maybe_json(v) for k, v in raw.items()}
        self.calls.append(Call(method, params))
        if method == "getMe":
            return _ok(BOT_USER)
        if method == "sendMessage":
            self.next_message_id += 1
            chat_id = int(params["chat_id"])
            return _ok(
                {
                    "message_id": self.next_message_id,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "text": params.get("text", ""),
                    "from": BOT_USER,
                }
            )
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            self.pending = [u for u in self.pending if u["update_id"] >= offset]  # confirmed ones go
            deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
            while not self.pending and time.monotonic() < deadline:  # a short long-poll
                await asyncio.sleep(0.05)
            return _ok(list(self.pending))
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook", "sendChatAction"):
            return _ok(True)
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_post("/bot{token}/{method}", self.handle)
        return application


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def message_update(
    update_id: int, chat_id: int, text: str, language: str = "fi", chat_type: str = "private"
) -> dict[str, Any]:
    """A Telegram update with a text message (commands too); groups have negative chat ids."""
    user = {"id": abs(chat_id), "is_bot": False, "first_name": "Maija", "language_code": language}
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "Kerhon ryhmä"
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": chat,
        "from": user,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def callback_update(update_id: int, chat_id: int, data: str, language: str = "fi") -> dict[str, Any]:
    """A Telegram update for a pressed inline keyboard button."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Maija", "language_code": language}
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "text": "…",
        "from": BOT_USER,
    }
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": user,
            "chat_instance": "x",
            "data": data,
            "message": message,
        },
    }
