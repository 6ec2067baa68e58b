"""The architecture holds: one owner per Redis key family, checked layers, documented packages."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.paths import PROJECT_ROOT
from bot.store import keys

SOURCE_DIRS = ("bot", "channels", "actions", "nlu", "bench")
KEYS_MODULE = PROJECT_ROOT / "bot" / "store" / "keys.py"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _modules() -> list[Path]:
    return [p for d in SOURCE_DIRS for p in sorted((PROJECT_ROOT / d).rglob("*.py")) if p != KEYS_MODULE]


def _key_names() -> set[str]:
    return {name for name in vars(keys) if not name.startswith("_") and name not in ("PREFIX", "annotations")}


def test_each_key_family_has_one_owner() -> None:
    users: dict[str, set[str]] = {name: set() for name in _key_names()}
    for path in _modules():
        source = path.read_text(encoding="utf-8")
        if "from bot.store import keys" not in source:
            continue
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "keys":
                assert node.attr in users, f"{path}: keys.{node.attr} is not in the key schema"
                users[node.attr].add(str(path.relative_to(PROJECT_ROOT)))
    unused = sorted(name for name, modules in users.items() if not modules)
    shared = {name: sorted(modules) for name, modules in users.items() if len(modules) > 1}
    assert not unused, f"key builders nobody uses: {unused}"
    assert not shared, f"key families used by more than one module: {shared}"


def test_no_module_but_the_schema_spells_a_key() -> None:
    spelled = [str(p.relative_to(PROJECT_ROOT)) for p in _modules() if "citybot:" in p.read_text(encoding="utf-8")]
    assert spelled == []


def test_each_package_says_what_it_owns() -> None:
    for init in sorted((PROJECT_ROOT / "bot").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"{init} needs a docstring saying what the package owns"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_layers_contract_holds() -> None:
    result = _lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "crossing"),
    [
        ("bot/core/text.py", "import bot.gateway.router"),  # core reaching up to the gateway
        ("bot/handoff/texts.py", "import channels.console.server"),  # the domain importing a channel
        ("actions/answers.py", "import bot.store.redis"),  # the action server reaching for Redis
        ("bot/rasa_plugins/channel.py", "import bot.conversation.records"),  # Rasa pulling in the gateway's parts
        ("bot/cli/training.py", "import rasa.version"),  # the supported environment importing Rasa
    ],
)
def test_crossing_a_layer_fails_the_lint(tmp_path: Path, module: str, crossing: str) -> None:
    for folder in ("bot", "channels", "actions", "nlu"):
        shutil.copytree(
            PROJECT_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "static")
        )
    shutil.copy(PROJECT_ROOT / ".importlinter", tmp_path / ".importlinter")
    assert _lint_imports(tmp_path).returncode == 0
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{crossing}  # noqa\n", encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0 and "BROKEN" in result.stdout, result.stdout


def test_no_action_reads_the_event_history() -> None:
    """Rasa sends actions only the latest events (bot/rasa_plugins/speedups.py): an action that
    read ``tracker.events`` would see a truncated history."""
    import re

    for path in sorted((PROJECT_ROOT / "actions").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"tracker\.events|events_after_latest_restart|get_last_event_for", text), path
