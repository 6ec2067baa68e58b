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


def main() -> None:
    """Run Rasa's command line with ``--auth-token`` added in-process."""
    if "--auth-token" in sys.argv:
        raise SystemExit("error: the token comes from the environment, not the command line")
    token = token_from_environment()
    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
