"""Rasa plugins: code that Rasa imports and runs in its own process (our input channel and the
action-response validator). Imports only core and knowledge."""
