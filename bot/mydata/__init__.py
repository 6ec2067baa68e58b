"""MyData: the citizen's own data, in the chat (what we hold, offers on/off, delete, unlink)
and for the back office (forget a conversation, export, erase)."""

from bot.mydata.in_chat import MyData
from bot.mydata.rights import DataRights

__all__ = ["DataRights", "MyData"]
