"""Command line (``python -m bot``): the process supervisor, training, agent and back-office
commands, the demo and the terminal chat."""
