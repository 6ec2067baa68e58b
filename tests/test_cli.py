"""`python -m bot run` (what `make run` starts): prints where it listens, and stops cleanly."""

from __future__ import annotations

import os
import platform
import pty
import select
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from bot.cli.supervisor import free_port
from bot.core.paths import PROJECT_ROOT

pytestmark = pytest.mark.integration


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_run_prints_urls_serves_and_leaves_nothing_behind(model_path: Path, tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("REDIS", "RASA", "ACTIONS", "GATEWAY")}
    data = tmp_path / "var"
    env = dict(os.environ, CITYBOT_DATA_DIR=str(data), **{f"CITYBOT_{k}_PORT": str(v) for k, v in ports.items()})
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
        dashboard = f"http://127.0.0.1:{ports['GATEWAY']}/console/dashboard"
        assert f"(supervisors: {dashboard})" in output
        with urllib.request.urlopen(dashboard, timeout=10) as response:
            assert response.status == 200
        assert all(listening(port) for port in ports.values())
        check_local_secrets(data, ports["REDIS"])
        check_printed_commands_work_as_printed(output, data, ports["REDIS"])
    finally:
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        process.send_signal(signal.SIGTERM)  # a second, impatient SIGTERM must not abort the stop
        assert process.wait(timeout=60) == 0
    time.sleep(0.5)
    assert [name for name, port in ports.items() if listening(port)] == []


def test_quit_in_the_terminal_chat_stops_everything_for_good(model_path: Path, tmp_path: Path) -> None:
    """Found trying `make run` as a newcomer: `/quit` stopped the processes, but the chat's watcher
    thread took each for a dead one ("redis stopped (exit 0); restarting in 1 s") and started it
    again, and those outlived `make run` when the stop took longer than the restart's backoff."""
    ports = {name: free_port() for name in ("REDIS", "RASA", "ACTIONS", "GATEWAY")}
    env = dict(
        os.environ, CITYBOT_DATA_DIR=str(tmp_path / "var"), **{f"CITYBOT_{k}_PORT": str(v) for k, v in ports.items()}
    )
    env.pop("REDIS_URL", None)
    controller, terminal = pty.openpty()  # a terminal, so that the chat starts as in `make run`
    command = [sys.executable, "-m", "bot", "run"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    try:
        seen = ""
        deadline = time.monotonic() + 240
        while "/quit." not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1)
            if ready:
                seen += os.read(controller, 65536).decode(errors="replace")
        assert "/quit." in seen, seen[-2000:]  # the chat's prompt: the service is up
        os.write(controller, b"/quit\n")
        assert process.wait(timeout=60) == 0
        while select.select([controller], [], [], 0.5)[0]:
            try:
                seen += os.read(controller, 65536).decode(errors="replace")
            except OSError:
                break
        after = seen.split("/quit.", 1)[1]
        assert "restart" not in after, after  # a stop is not a death
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    time.sleep(3)  # a restart would come within one heal tick and its backoff
    assert [name for name, port in ports.items() if listening(port)] == []


def check_printed_commands_work_as_printed(output: str, data: Path, redis_port: int) -> None:
    """Issue 16, operators: the banner said `python -m bot agent add NAME`, which needs a venv's
    python on PATH and, pasted into another terminal, used the default data directory and Redis
    port instead of the running service's. Now each printed command is pasted, as printed, into a
    shell without the service's settings, and reaches the running service."""
    [line] = [line for line in output.splitlines() if "create an agent:" in line]
    command = line.split("create an agent:", 1)[1].strip().replace("NAME", "pasted-agent")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CITYBOT_") and k != "REDIS_URL"}
    clean["CITYBOT_AGENT_PASSWORD"] = "a long enough password"
    done = subprocess.run(["bash", "-c", command], env=clean, cwd="/", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    password = (data / "secrets" / "redis_password").read_text(encoding="utf-8").strip()
    client = redis.Redis(port=redis_port, password=password)
    assert client.hget("citybot:agent:pasted-agent", "admin") in (b"1", b"true", b"True")
    for name in ("chat as a citizen:", "try the offers:"):
        [printed] = [line for line in output.splitlines() if name in line]
        assert f"{sys.executable} -m bot " in printed and f"CITYBOT_DATA_DIR={data}" in printed


def test_help_names_every_command() -> None:
    """Issue 16: `python -m bot --help` opened with an old list of commands."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    choices = done.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    summary = [line for line in done.stdout.splitlines() if line.startswith("The citizen chatbot's commands:")]
    assert summary and set(summary[0].split(":", 1)[1].strip(" .").split(", ")) == set(choices)
    for choice in choices:
        assert f"    {choice} " in done.stdout  # each with its help line


def check_local_secrets(data: Path, redis_port: int) -> None:
    """Finding 9 of the security issue. Before: the embedded Redis had no password, and ``var/`` and
    its logs were 0755/0644 (only ``var/secrets/*`` were 0600)."""
    client = redis.Redis(port=redis_port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        client.ping()  # the embedded Redis wants its generated password
    password = (data / "secrets" / "redis_password").read_text(encoding="utf-8").strip()
    assert len(password) >= 32 and redis.Redis(port=redis_port, password=password).ping()
    loose = []
    for path in [data, *data.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(data.parent)} {mode:o}")
    assert loose == []  # every folder 0700, every file (logs, secrets, Redis data) 0600
    assert (data / "logs" / "gateway.log").exists() and list((data / "redis").iterdir())
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        assert password not in command  # neither the Redis password ...
        assert (data / "secrets" / "rasa_token").read_text(encoding="utf-8").strip() not in command  # ... nor the token
