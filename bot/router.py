"""Who answers a conversation: the bot now; a human agent once handoff exists."""

from __future__ import annotations

import logging

from bot.conversations import Conversations
from bot.envelope import Inbound, Outbound
from bot.rasa_client import RasaClient

logger = logging.getLogger(__name__)


class Router:
    """De-duplicates, sends to whoever holds the conversation, records the activity."""

    def __init__(self, conversations: Conversations, bot: RasaClient) -> None:
        self._conversations = conversations
        self._bot = bot

    async def handle(self, message: Inbound) -> list[Outbound]:
        """The replies to ``message``; none for a repeated delivery of the same message."""
        if not await self._conversations.first_delivery(message.conversation_id, message.message_id):
            logger.info("duplicate delivery of %s message %s ignored", message.channel, message.message_id)
            return []
        replies = await self._bot.send(message)
        language = next((r.language for r in replies if r.language), None)
        await self._conversations.touch(message.conversation_id, message.channel, language)
        return replies
