"""Which process runs where: the gateway on a supported Python with current libraries, Rasa in its
own Python 3.10 environment, started without its token on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.cli.supervisor import Stack
from bot.core.paths import PROJECT_ROOT, rasa_python

pytestmark = pytest.mark.integration


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_the_gateway_reports_a_supported_python_and_current_aiohttp(stack: Stack) -> None:
    url = f"http://127.0.0.1:{stack.settings.gateway_port}/healthz"
    with urllib.request.urlopen(url, timeout=10) as response:
        runtime = json.loads(response.read())["runtime"]
    assert version(runtime["python"]) >= (3, 12)
    assert version(runtime["aiohttp"]) >= (3, 12, 14)  # CVE-2025-53643 and earlier advisories fixed
    assert version(runtime["redis-py"]) >= (5,)


def test_each_process_runs_from_its_environment(stack: Stack) -> None:
    processes = {m.name: m.process.pid for m in stack.processes}
    rasa = cmdline(processes["rasa"])
    assert Path(rasa[0]) == rasa_python() and rasa[1:3] == ["-m", "bot.rasa_plugins.launch"]
    for name in ("actions", "gateway"):
        assert Path(cmdline(processes[name])[0]) == Path(sys.executable)
    assert sys.version_info >= (3, 12)


def test_the_rasa_token_is_on_no_command_line(stack: Stack) -> None:
    token = stack.settings.rasa_token
    for managed in stack.processes:
        assert not any(token in argument for argument in cmdline(managed.process.pid)), managed.name


def test_the_launcher_refuses_a_token_on_the_command_line() -> None:
    result = subprocess.run(
        [str(rasa_python()), "-m", "bot.rasa_plugins.launch", "run", "--auth-token", "visible-to-ps"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "not the command line" in result.stderr


def test_rasa_runs_on_python_3_10_in_its_own_environment() -> None:
    result = subprocess.run(
        [str(rasa_python()), "-c", "import sys, rasa.version; print(sys.version_info[:2], rasa.version.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "(3, 10) 3.6.21", result.stderr
    assert subprocess.run([sys.executable, "-c", "import rasa"], capture_output=True).returncode != 0


def test_a_token_beginning_with_a_dash_reaches_rasa_as_the_token() -> None:
    """Found by CI: `secrets.token_urlsafe` gave a token starting with "-", Rasa's argparse read
    "--auth-token -Xy..." as a missing value and `make run` failed to start Rasa."""
    import argparse

    from bot.rasa_plugins.launch import rasa_argv

    parser = argparse.ArgumentParser()  # as Rasa's run command declares it
    parser.add_argument("command")
    parser.add_argument("-t", "--auth-token")
    argv = rasa_argv(["run"], "-Xy_secret")
    assert parser.parse_args(argv[1:]).auth_token == "-Xy_secret"
