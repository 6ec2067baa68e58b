"""``python -m bot agent ...``: create, list and remove support agents, set their passwords.

The password is read from ``CITYBOT_AGENT_PASSWORD`` when set (for scripts), else asked twice
at the terminal, else read as one line from standard input. With the embedded Redis (no
``REDIS_URL``) and the service stopped, the command starts the embedded Redis for the moment it
needs it, on the same data directory, so the agent is there when the service starts.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import subprocess
import sys
import time

from bot.core.errors import CitybotError, ServiceStartError
from bot.core.i18n import LANGUAGES
from bot.core.settings import Settings, load_settings
from bot.handoff.agents import AgentError, Agents
from bot.store.redis import connect

PASSWORD_ENV = "CITYBOT_AGENT_PASSWORD"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``agent`` sub-command and its own sub-commands."""
    agent_p = sub.add_parser("agent", help="manage the support agents who use the console")
    actions = agent_p.add_subparsers(dest="agent_command", required=True)
    add_p = actions.add_parser("add", help="create an agent (asks for the password)")
    add_p.add_argument("username")
    add_p.add_argument("--name", help="the name citizens see, e.g. 'Anna K.' (default: the username)")
    add_p.add_argument("--queues", default=",".join(LANGUAGES), help="queues served, e.g. fi,sv (default: all)")
    add_p.add_argument("--admin", action="store_true")
    actions.add_parser("list", help="list the agents")
    remove_p = actions.add_parser("remove", help="delete an agent")
    remove_p.add_argument("username")
    password_p = actions.add_parser("password", help="set a new password (signs the agent out everywhere)")
    password_p.add_argument("username")


def _password() -> str:
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    if sys.stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Again: ") != first:
            raise AgentError("mismatch", "the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


async def _run(args: argparse.Namespace, settings: Settings) -> None:
    redis = connect(settings.redis)
    agents = Agents(redis)
    try:
        if args.agent_command == "add":
            queues = tuple(q.strip() for q in args.queues.split(",") if q.strip())
            agent = await agents.create(args.username, args.name or args.username, _password(), queues, args.admin)
            print(f"Agent {agent.username} ({agent.name}) created; queues: {', '.join(agent.queues)}.")
        elif args.agent_command == "list":
            for agent in await agents.all():
                columns = [agent.username, agent.name, ",".join(agent.queues)] + (["admin"] if agent.admin else [])
                print("\t".join(columns))
        elif args.agent_command == "remove":
            await agents.remove(args.username)
            print(f"Agent {args.username} removed.")
        elif args.agent_command == "password":
            await agents.set_password(args.username, _password())
            print(f"Password of {args.username} changed; their sessions are signed out.")
    finally:
        await redis.aclose()


def run(args: argparse.Namespace) -> int:
    """Run an ``agent`` sub-command; returns the exit code."""
    from bot.cli.supervisor import embedded_redis_command, redis_reachable

    settings = load_settings()
    server = None
    if not redis_reachable(settings):
        if not settings.redis.embedded:
            raise ServiceStartError(f"Redis at {settings.redis.host}:{settings.redis.port} (REDIS_URL) does not answer")
        server = subprocess.Popen(embedded_redis_command(settings), stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not redis_reachable(settings):
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise ServiceStartError("the embedded Redis did not start")
            time.sleep(0.1)
    try:
        asyncio.run(_run(args, settings))
        return 0
    except AgentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except CitybotError:
        raise
    finally:
        if server is not None:
            server.terminate()  # redis-server saves its append-only file on SIGTERM
            server.wait(timeout=20)
