"""Store: the Redis client factory, the key schema (one owner per key family) and the scheduler.

Every Redis key is built by ``bot.store.keys``; see its docstring for which module owns each family.
"""

from bot.store.redis import connect
from bot.store.scheduler import Scheduler

__all__ = ["Scheduler", "connect"]
