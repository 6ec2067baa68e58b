"""The supervisor restarts a process that dies, with backoff, and stops the service when one
keeps dying (issue 13: one crashed process stopped the whole service)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.cli import supervisor
from bot.cli.supervisor import RESTART_BACKOFF_FIRST, RESTART_LIMIT, RESTART_WINDOW, Stack
from bot.core.errors import ServiceStartError
from bot.core.settings import RedisAddress, Settings


def _stack(tmp_path: Path) -> Stack:
    settings = Settings(
        data_dir=tmp_path, redis=RedisAddress("127.0.0.1", 1), rasa_port=1, actions_port=1, rasa_token="x"
    )
    return Stack(settings, progress=lambda _: None)


def test_a_dead_process_is_restarted_with_doubling_backoff_and_repeated_deaths_stop(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    flaky = stack._spawn("flaky", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))
    flaky.process.wait()
    now = 1000.0
    for n in range(RESTART_LIMIT):
        delay = RESTART_BACKOFF_FIRST * 2**n
        [noticed] = stack.heal(now=now)
        assert noticed == f"flaky stopped (exit 3); restarting in {delay:.0f} s"
        assert stack.heal(now=now + delay / 2) == []  # not yet
        now += delay
        [restarted] = stack.heal(now=now)
        assert restarted == f"flaky restarted ({n + 1} so far)"
        flaky.process.wait()  # and it dies again
    with pytest.raises(ServiceStartError, match="6th time within 5 min"):
        stack.heal(now=now)
    assert stack.restart_counts() == {"flaky": RESTART_LIMIT}


def test_restarts_long_ago_do_not_count(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    flaky = stack._spawn("flaky", [sys.executable, "-c", "raise SystemExit(1)"], dict(os.environ))
    flaky.restarts = [0.0] * RESTART_LIMIT  # an hour ago
    flaky.process.wait()
    [noticed] = stack.heal(now=RESTART_WINDOW + 3600)
    assert noticed.endswith(f"restarting in {RESTART_BACKOFF_FIRST:.0f} s")


def test_a_running_process_is_left_alone(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    sleeper = stack._spawn("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"], dict(os.environ))
    try:
        assert stack.heal() == [] and sleeper.process.poll() is None
    finally:
        sleeper.process.kill()
        sleeper.process.wait()


def test_stopping_is_not_taken_for_deaths_to_heal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found with `make run` and `/quit`: the terminal chat's watcher thread kept healing while the
    stack stopped, took each stopped process for a dead one, started it again and left it running
    after the service had exited."""
    monkeypatch.setattr(supervisor, "RESTART_BACKOFF_FIRST", 0.0)
    stack = _stack(tmp_path)
    started: list[subprocess.Popen[bytes]] = []
    popen = stack._popen

    def keep(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        started.append(popen(name, command, env))
        return started[-1]

    monkeypatch.setattr(stack, "_popen", keep)
    slow_to_stop = (
        "import signal, time; signal.signal(signal.SIGTERM, lambda *_: (time.sleep(1.5), exit(0))); time.sleep(60)"
    )
    stack._spawn("slow", [sys.executable, "-c", slow_to_stop], dict(os.environ))
    stack._spawn("quick", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))
    time.sleep(0.5)  # both running, the slow one's handler in place
    done = threading.Event()

    def heal_forever() -> None:
        while not done.is_set():
            stack.heal()
            time.sleep(0.05)

    watcher = threading.Thread(target=heal_forever)
    watcher.start()
    try:
        stack.stop()  # the quick one is gone long before the slow one
    finally:
        done.set()
        watcher.join()
        running = [p for p in started if p.poll() is None]
        for process in running:
            process.kill()
            process.wait()
    assert len(started) == 2 and not running


def test_a_port_already_in_use_is_named_before_anything_starts(tmp_path: Path) -> None:
    """Found running `make run` beside another service on 8080: the gateway's traceback ("address
    already in use") came after Redis, the actions and Rasa had started."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(
            data_dir=tmp_path,
            redis=RedisAddress("127.0.0.1", supervisor.free_port(), embedded=True),
            rasa_port=supervisor.free_port(),
            actions_port=supervisor.free_port(),
            gateway_port=port,
            rasa_token="x",
        )
        stack = Stack(settings, progress=lambda _: None)
        with pytest.raises(ServiceStartError, match=rf"port {port} \(CITYBOT_GATEWAY_PORT\)"):
            stack.start()
        assert stack.processes == []  # nothing was started
