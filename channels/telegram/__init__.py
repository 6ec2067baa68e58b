"""Telegram: python-telegram-bot inside the gateway (webhook) or on its own (polling)."""

from channels.telegram.channel import TelegramChannel, setup_telegram

__all__ = ["TelegramChannel", "setup_telegram"]
