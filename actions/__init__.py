"""Custom actions for the Rasa action server (``rasa run actions --actions actions``).

Actions stay thin: they read the tracker, call domain services in ``bot/`` and answer with
responses from ``domain.yml`` or texts from ``knowledge/``.
"""
