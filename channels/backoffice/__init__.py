"""The back-office API for the city's systems: offers, citizens' data, link codes."""

from channels.backoffice.server import setup_backoffice

__all__ = ["setup_backoffice"]
