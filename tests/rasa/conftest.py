"""Tests that run in Rasa's own environment (.venv-rasa, Python 3.10): what Rasa imports.

``make test`` runs them with ``--confcutdir=tests/rasa``, so the gateway's fixtures (playwright,
the running stack) are not loaded here; only the trained model is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cli.training import require_model

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The trained model for the current data; `make test` trains it before pytest runs."""
    return require_model()
