"""Start Rasa with the token of its HTTP API from the environment, never on its command line.

``python -m bot.rasa_plugins.launch run --enable-api ...`` (from Rasa's environment) reads the
token from ``CITYBOT_RASA_TOKEN`` or the file named by ``CITYBOT_RASA_TOKEN_FILE`` and hands it to
Rasa inside this process, so ``ps`` and ``/proc/<pid>/cmdline`` show no token. The token is also
what our input channel checks (``credentials.yml`` reads the same variable).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def token_from_environment() -> str:
    """The token from ``CITYBOT_RASA_TOKEN`` or ``CITYBOT_RASA_TOKEN_FILE``; SystemExit if neither."""
    token = os.environ.get("CITYBOT_RASA_TOKEN", "").strip()
    path = os.environ.get("CITYBOT_RASA_TOKEN_FILE", "")
    if not token and path:
        token = Path(path).read_text(encoding="utf-8").strip()
        os.environ["CITYBOT_RASA_TOKEN"] = token  # for credentials.yml's ${CITYBOT_RASA_TOKEN}
    if not token:
        raise SystemExit("error: set CITYBOT_RASA_TOKEN or CITYBOT_RASA_TOKEN_FILE to start Rasa")
    return token


def rasa_argv(arguments: list[str], token: str) -> list[str]:
    """Rasa's command line with the token. One argument, ``--auth-token=<token>``: a generated
    token begins with "-" one time in 64, and argparse took it for an option of its own
    ("expected one argument"), so Rasa did not start."""
    return ["rasa", *arguments, f"--auth-token={token}"]


def main() -> None:
    """Run Rasa's command line with ``--auth-token`` added in-process."""
    if any(a == "--auth-token" or a.startswith("--auth-token=") for a in sys.argv):
        raise SystemExit("error: the token comes from the environment, not the command line")
    sys.argv = rasa_argv(sys.argv[1:], token_from_environment())
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
