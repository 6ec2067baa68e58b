"""Where the project's files are. Everything is relative to the project root by default."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def knowledge_dir() -> Path:
    """The knowledge folder; ``CITYBOT_KNOWLEDGE_DIR`` points elsewhere (e.g. a city's own)."""
    return Path(os.environ.get("CITYBOT_KNOWLEDGE_DIR", PROJECT_ROOT / "knowledge"))


def models_dir() -> Path:
    """Where trained Rasa models are kept (``CITYBOT_MODELS_DIR`` overrides)."""
    return Path(os.environ.get("CITYBOT_MODELS_DIR", PROJECT_ROOT / "models"))


def rasa_python() -> Path:
    """The interpreter of Rasa's own environment (``CITYBOT_RASA_PYTHON`` overrides)."""
    return Path(os.environ.get("CITYBOT_RASA_PYTHON", PROJECT_ROOT / ".venv-rasa" / "bin" / "python"))


RASA_CONSTRAINTS = PROJECT_ROOT / "requirements" / "rasa-constraints.txt"
LABELS_FILE = PROJECT_ROOT / "nlu" / "labels.yml"
NLU_DATA_DIRS = tuple(PROJECT_ROOT / "nlu" / lang for lang in ("fi", "sv", "en"))
DIALOGUE_DIR = PROJECT_ROOT / "bot" / "dialogue"
CONFIG_FILE = PROJECT_ROOT / "config.yml"
DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
ENDPOINTS_FILE = PROJECT_ROOT / "endpoints.yml"
CREDENTIALS_FILE = PROJECT_ROOT / "credentials.yml"
