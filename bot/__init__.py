"""The citizen chatbot service: domain services shared by the gateway and the action server."""

__version__ = "0.1.0"
