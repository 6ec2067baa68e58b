"""Safety: emergencies and crises recognised in every message, before anything else, answered
with 112 (and the crisis lines) in the citizen's language; the words live in knowledge/safety.yml."""

from bot.safety.detector import Danger, Finding, SafetyRules, load_safety

__all__ = ["Danger", "Finding", "SafetyRules", "load_safety"]
