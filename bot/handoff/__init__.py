"""Handoff: queues, cases and agents, and the use cases of handing a conversation to a person.

``HandoffDesk`` serves both sides (the router's citizen messages, the console's agent commands).
"""

from bot.handoff.agents import Agent, AgentError, Agents, Session
from bot.handoff.cases import Case, CaseKind, CaseMode, Handoff, HandoffError
from bot.handoff.service import HandoffDesk
from bot.handoff.texts import HandoffTexts

__all__ = [
    "Agent",
    "AgentError",
    "Agents",
    "Case",
    "CaseKind",
    "CaseMode",
    "Handoff",
    "HandoffDesk",
    "HandoffError",
    "HandoffTexts",
    "Session",
]
