"""Training the Rasa model only when its inputs changed.

The model file is named after a hash of everything training reads (config, domain, NLU data,
dialogue rules, our NLU components and the text folding they use, and the Rasa version), so an
unchanged project reuses its model and any change trains a new one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import time
from pathlib import Path

from bot.core.errors import ModelMissingError
from bot.core.paths import (
    CONFIG_FILE,
    DIALOGUE_DIR,
    DOMAIN_FILE,
    NLU_DATA_DIRS,
    PROJECT_ROOT,
    RASA_CONSTRAINTS,
    knowledge_dir,
    models_dir,
    rasa_python,
)

logger = logging.getLogger(__name__)

TRAINING_CODE = (
    PROJECT_ROOT / "nlu" / "components",
    PROJECT_ROOT / "bot" / "core" / "text.py",
    PROJECT_ROOT / "bot" / "knowledge" / "nlu_examples.py",  # the entries' asks become examples
)
GENERATED_NLU = PROJECT_ROOT / ".rasa" / "generated" / "faq_asks.yml"


def generate_nlu() -> Path:
    """Write the entries' asks (knowledge/faq) as an NLU file for training (bot/knowledge/nlu_examples.py)."""
    from bot.knowledge.files import load_faq
    from bot.knowledge.nlu_examples import write_nlu_file

    hand_written = [path for folder in NLU_DATA_DIRS for path in sorted(folder.rglob("*.yml"))]
    count = write_nlu_file(GENERATED_NLU, load_faq(), hand_written)
    logger.info("%d examples from the knowledge files' asks", count)
    return GENERATED_NLU


def training_inputs() -> list[Path]:
    """Every file whose content changes the trained model, in a stable order."""
    files = [CONFIG_FILE, DOMAIN_FILE]
    for folder in (*NLU_DATA_DIRS, DIALOGUE_DIR, knowledge_dir() / "faq"):
        files += sorted(folder.rglob("*.yml"))
    for item in TRAINING_CODE:
        files += sorted(item.rglob("*.py")) if item.is_dir() else [item]
    return files


def fingerprint() -> str:
    """A short hash of the training inputs and of Rasa's environment (its pinned versions).

    Read from the constraints file, not by importing Rasa: this runs in the supported environment,
    where Rasa is not installed.
    """
    digest = hashlib.sha256(RASA_CONSTRAINTS.read_bytes())
    for path in training_inputs():
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def code_fingerprint() -> str:
    """A short hash of our training code only (its files and their paths)."""
    digest = hashlib.sha256()
    for item in TRAINING_CODE:
        for path in sorted(item.rglob("*.py")) if item.is_dir() else [item]:
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    """Where the model for the current inputs is (or will be)."""
    return models_dir() / f"citybot-{fingerprint()}.tar.gz"


def require_model() -> Path:
    """The current model, or ModelMissingError telling how to train it."""
    path = model_path()
    if not path.exists():
        raise ModelMissingError(f"no trained model for the current data ({path.name}); run `make train`")
    return path


def rasa_env() -> dict[str, str]:
    """Environment for Rasa processes: no telemetry, quiet TensorFlow, our packages importable."""
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def train(force: bool = False) -> Path:
    """Train unless a model for the current inputs exists; return the model's path."""
    target = model_path()
    if target.exists() and not force:
        print(f"Model is up to date: {target.relative_to(PROJECT_ROOT)}", flush=True)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"Training the model ({target.name}); this takes a few minutes...", flush=True)
    started = time.monotonic()
    command = [
        str(rasa_python()),
        "-m",
        "rasa",
        "train",
        "--config",
        str(CONFIG_FILE),
        "--domain",
        str(DOMAIN_FILE),
        "--data",
        *map(str, NLU_DATA_DIRS),
        str(generate_nlu()),
        str(DIALOGUE_DIR),
        "--out",
        str(target.parent),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    env = rasa_env()
    # Rasa caches trained components by their configuration and data, not by their code: a
    # component pickled before our code moved (a function's module path) would be reused and
    # fail to load. One cache per version of our training code.
    env["RASA_CACHE_DIRECTORY"] = str(PROJECT_ROOT / ".rasa" / f"cache-{code_fingerprint()}")
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env)
    if result.returncode != 0 or not target.exists():
        raise ModelMissingError(f"training failed (exit {result.returncode}); see the output above")
    print(f"Trained in {time.monotonic() - started:.0f} s: {target.relative_to(PROJECT_ROOT)}", flush=True)
    return target
