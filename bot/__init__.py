"""The citizen chatbot service, one subpackage per concern (see README, "How it fits together")."""

__version__ = "0.1.0"
