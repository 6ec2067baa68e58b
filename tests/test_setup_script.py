"""scripts/setup.sh on a machine without the Pythons it needs: it says which, and how to get them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bot.core.paths import PROJECT_ROOT


def test_a_missing_python_is_named_with_what_to_do(tmp_path: Path) -> None:
    tools = tmp_path / "bin"  # only the tools the script needs: no pyenv, no python3.x on PATH
    tools.mkdir()
    for tool in ("dirname", "ls", "tail"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    env = {
        "PATH": str(tools),
        "HOME": str(tmp_path),
        "VENV": str(tmp_path / "venv"),
        "RASA_VENV": str(tmp_path / "venv-rasa"),
        "PYTHON312": "/nonexistent/python3.12",
        "PYTHON313": "/nonexistent/python3.13",
        "SYSTEM_PYTHON_DIRS": str(tmp_path),  # nor in the system folders, whatever this machine has
    }
    result = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(PROJECT_ROOT / "scripts" / "setup.sh")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "A supported Python (3.12 or 3.13) is needed" in result.stderr
    assert "PYTHON312" in result.stderr and "pyenv install 3.12" in result.stderr
    assert not (tmp_path / "venv").exists()
