"""``python -m bot``: the command line (``bot.cli.main``)."""

import sys

from bot.cli.main import main

sys.exit(main())
