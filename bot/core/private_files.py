"""Files only the service's own user may read: secrets, logs, Redis data (0600 in 0700 folders).

Files are created with their final mode (``os.open`` with 0600), so they are never readable by
others, not even for a moment; an existing folder or file with a looser mode is tightened.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) as a folder only the owner may enter."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only the owner may read (its folder made private too)."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(FILE_MODE)


def open_private_log(path: Path) -> int:
    """A file descriptor appending to ``path``, created 0600 (an older, looser log is tightened)."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)
    return descriptor


def generated_secret(path: Path) -> str:
    """The secret kept in ``path``, generated (256 random bits) the first time."""
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32))
    path.chmod(FILE_MODE)
    return path.read_text(encoding="utf-8").strip()
