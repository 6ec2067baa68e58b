"""Commands printed for an operator to paste into another shell, with this service's settings."""

from __future__ import annotations

import os
import shlex
import sys

from bot.core.paths import PROJECT_ROOT
from bot.core.settings import Settings

# The settings a command in another terminal needs to reach this service (secrets stay in the
# environment they are in: REDIS_URL is passed by name, never printed).
SHARED_SETTINGS = ("CITYBOT_DATA_DIR", "CITYBOT_REDIS_PORT", "CITYBOT_GATEWAY_HOST", "CITYBOT_GATEWAY_PORT")


def command_line(arguments: str) -> str:
    """A command to paste into another shell: this project, this Python, these settings."""
    assignments = [f"{name}={shlex.quote(os.environ[name])}" for name in SHARED_SETTINGS if os.environ.get(name)]
    if os.environ.get("REDIS_URL"):
        assignments.append('REDIS_URL="$REDIS_URL"')  # set it there too; its password is not printed
    prefix = f"cd {shlex.quote(str(PROJECT_ROOT))} && "
    env = " ".join(assignments) + " " if assignments else ""
    return f"{prefix}{env}{shlex.quote(sys.executable)} -m bot {arguments}"


def gateway_url(settings: Settings) -> str:
    """Where a local client reaches the gateway (a wildcard listen address is reached on loopback)."""
    host = "127.0.0.1" if settings.gateway_host in ("0.0.0.0", "::", "") else settings.gateway_host
    return f"http://{host}:{settings.gateway_port}"
