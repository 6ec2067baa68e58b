"""Channels: each package translates one protocol to the common envelope (``bot.core.envelope``)."""
