"""The WhatsApp channel's root exception."""

from bot.core.errors import CitybotError


class WhatsAppError(CitybotError):
    """Root of every error raised by ``channels.whatsapp``."""
