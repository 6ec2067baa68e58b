"""Knowledge: what the city's editors maintain in ``knowledge/``, loaded and checked.

Topics, service points and opening hours, holidays, time words, labels, entity matching, language
following and the handoff configuration. Used in every process, Rasa and the action server included.
"""

from bot.knowledge.files import load_calendar, load_faq, load_texts, read_yaml, trilingual
from bot.knowledge.handoff_config import HandoffConfig, load_handoff_config

__all__ = ["HandoffConfig", "load_calendar", "load_faq", "load_handoff_config", "load_texts", "read_yaml", "trilingual"]
