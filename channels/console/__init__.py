"""The agents' console: support staff take over conversations from the bot (docs/handoff.md)."""

from channels.console.server import setup_console

__all__ = ["setup_console"]
