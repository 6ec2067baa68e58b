"""Systems: the city's calling systems (tokens, scopes, whose citizens) and signed callbacks to
them, which reach public addresses only unless a system is allowed a private network."""

from bot.systems.callbacks import Callbacks
from bot.systems.registry import System, Systems, SystemsError

__all__ = ["Callbacks", "System", "Systems", "SystemsError"]
