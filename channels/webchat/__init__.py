"""Web chat: a socket.io server speaking the protocol of Rasa's socket.io channel.

Existing Rasa web chat widgets (``rasa-webchat`` 1.x) work against it unchanged; our own widget
uses the same events plus a language tag on each reply.
"""

from channels.webchat.server import WebchatError, setup_webchat

__all__ = ["WebchatError", "setup_webchat"]
