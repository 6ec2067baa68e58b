"""`python -m bot run` (what `make run` starts): prints where it listens, and stops cleanly."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli.supervisor import free_port
from bot.core.paths import PROJECT_ROOT

pytestmark = pytest.mark.integration


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_run_prints_urls_serves_and_leaves_nothing_behind(model_path: Path, tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("REDIS", "RASA", "ACTIONS", "GATEWAY")}
    env = dict(os.environ, CITYBOT_DATA_DIR=str(tmp_path), **{f"CITYBOT_{k}_PORT": str(v) for k, v in ports.items()})
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--no-chat"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C to stop." in line:
            break
    output = "".join(lines)
    try:
        assert f"Web chat:  http://127.0.0.1:{ports['GATEWAY']}/" in output, output
        assert f"Health:    http://127.0.0.1:{ports['GATEWAY']}/healthz" in output
        assert f"gateway runs Python {platform.python_version()}, aiohttp " in output  # the supported runtime
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['GATEWAY']}/healthz", timeout=10) as response:
            assert response.status == 200
        assert all(listening(port) for port in ports.values())
    finally:
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        process.send_signal(signal.SIGTERM)  # a second, impatient SIGTERM must not abort the stop
        assert process.wait(timeout=60) == 0
    time.sleep(0.5)
    assert [name for name, port in ports.items() if listening(port)] == []
