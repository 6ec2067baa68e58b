"""The citizen chatbot's commands: train, run, chat, agent, backoffice, demo.

- ``train [--force]``: train the Rasa model if its inputs changed;
- ``run [--no-chat]``: start Redis (embedded unless REDIS_URL is set), the action server, Rasa
  and the gateway, print where they are and the commands to use with them, and open a terminal
  chat (or wait with ``--no-chat``);
- ``chat [--lang] [--citizen ID]``: a terminal chat with the running service, as a web chat
  citizen (handoffs and offers included; ``--citizen`` signs in with the development key);
- ``agent {add,list,remove,password}``: the support agents who sign in to the console;
- ``backoffice add NAME``: a city system allowed to call the back-office API;
- ``demo``: sample offers to a demo citizen's chat (with the service running).
"""

from __future__ import annotations

import argparse
import locale
import logging
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from bot.cli import agents as agent_cli
from bot.cli import demo
from bot.cli.shell import command_line, gateway_url
from bot.core.errors import CitybotError
from bot.core.i18n import normalise_language
from bot.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from bot.cli.supervisor import Stack


def _heal_forever(stack: Stack) -> None:
    """Beside the terminal chat: restart what dies; when a process keeps dying, say so and stop
    the service (SIGTERM to ourselves ends the chat and stops the stack)."""
    while True:
        time.sleep(1)
        try:
            stack.heal()  # what it does is logged
        except CitybotError as exc:
            print(f"\nerror: {exc}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _language_hint(explicit: str | None) -> str | None:
    if explicit:
        return normalise_language(explicit)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        hint = normalise_language(os.environ.get(name, ""))
        if hint:
            return hint
    return normalise_language(locale.getlocale()[0] or "")


def _identity(settings: Settings, citizen: str | None) -> str | None:
    """A development identity token for ``citizen`` (the city's login stands in)."""
    if not citizen:
        return None
    from bot.privacy.identity import development_token

    return development_token(settings.identity_keys_file, citizen, settings.identity_audience, 24 * 60)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train_p = sub.add_parser("train", help="train the model if training data or config changed")
    train_p.add_argument("--force", action="store_true", help="train even if a model exists")
    run_p = sub.add_parser("run", help="start the whole service")
    run_p.add_argument("--no-chat", action="store_true", help="do not open a terminal chat")
    run_p.add_argument("--lang", help="language hint for the terminal chat (fi, sv, en)")
    chat_p = sub.add_parser("chat", help="chat with the running service in the terminal, as a citizen")
    chat_p.add_argument("--lang", help="language hint (fi, sv, en)")
    chat_p.add_argument("--citizen", help="sign in as this citizen (development key): offers reach the chat")
    agent_cli.add_parser(sub)
    demo.add_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    try:
        if args.command == "train":
            from bot.cli.training import train

            train(force=args.force)
            return 0
        if args.command == "agent":
            return agent_cli.run(args)
        if args.command in ("demo", "backoffice"):
            return demo.run(args)
        settings = load_settings()
        if args.command == "chat":
            from bot.cli.terminal_chat import chat

            chat(gateway_url(settings), _language_hint(args.lang), _identity(settings, args.citizen))
            return 0
        from bot.cli.supervisor import Stack, exit_on_sigterm

        exit_on_sigterm()
        started = time.monotonic()
        with Stack(settings) as stack:
            print(f"\nThe service is ready ({time.monotonic() - started:.0f} s).", flush=True)
            gateway = gateway_url(settings)
            print(f"  Web chat:  {gateway}/", flush=True)
            print(f"  Console:   {gateway}/console/  (supervisors: {gateway}/console/dashboard)", flush=True)
            print(f"  Health:    {gateway}/healthz  (ready: {gateway}/readyz, metrics: {gateway}/metrics)", flush=True)
            print(f"  Rasa HTTP API (loopback only): {settings.rasa_url}", flush=True)
            print(f"  Logs: {settings.data_dir / 'logs'}", flush=True)
            print("In another terminal, with this service's settings:", flush=True)
            print(f"  create an agent:  {command_line('agent add NAME --admin')}", flush=True)
            print(f"  chat as a citizen: {command_line('chat --citizen demo-citizen')}", flush=True)
            print(f"  try the offers:   {command_line('demo')}", flush=True)
            if args.no_chat or not sys.stdin.isatty():
                print("Press Ctrl-C to stop.", flush=True)
                while True:
                    time.sleep(1)
                    stack.heal()  # a process that died is restarted (and logged); repeated deaths stop
            from bot.cli.terminal_chat import chat

            watcher = threading.Thread(target=_heal_forever, args=(stack,), name="supervisor", daemon=True)
            watcher.start()
            chat(gateway_url(settings), _language_hint(args.lang))
        return 0
    except KeyboardInterrupt:
        return 0
    except CitybotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
