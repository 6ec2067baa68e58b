"""Conversation: the state of one conversation and the ways to talk in it.

Records and de-duplication, transcripts, the open question, the outbox, Rasa's tracker, delivery
to channels, and the client of the bot.
"""

from bot.conversation.delivery import Delivery, DeliveryError
from bot.conversation.outbox import Outbox
from bot.conversation.questions import Question, QuestionKind, Questions
from bot.conversation.rasa_client import BotClient, BotProtocolError, BotUnavailableError, RasaClient
from bot.conversation.records import Conversations
from bot.conversation.trackers import Trackers
from bot.conversation.transcripts import Entry, Transcripts

__all__ = [
    "BotClient",
    "BotProtocolError",
    "BotUnavailableError",
    "Conversations",
    "Delivery",
    "DeliveryError",
    "Entry",
    "Outbox",
    "Question",
    "QuestionKind",
    "Questions",
    "RasaClient",
    "Trackers",
    "Transcripts",
]
