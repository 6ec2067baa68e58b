"""Systems: the city's calling systems (tokens, the systems file) and signed callbacks to them."""

from bot.systems.callbacks import Callbacks, System, Systems, SystemsError

__all__ = ["Callbacks", "System", "Systems", "SystemsError"]
