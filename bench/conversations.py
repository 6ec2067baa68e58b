"""Per-language turn accuracy and safety figures on the conversation scenarios:
``python -m bench.conversations``.

Starts the whole stack (embedded Redis, Rasa with the trained model, the action server) at the
test clock, plays every scenario of ``tests/conversations/<lang>/*.yml`` in its own web chat
session (tests/conversations/README.md), and prints per language the scenarios and turns that
went as their authors expected, emergency and crisis recall, false alarms on the other messages
and the share of nonsense not answered as a topic. ``--failures`` prints each failing scenario
turn by turn. The last line is the report as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import yaml

from bot.cli.supervisor import Stack, exit_on_sigterm, free_port
from bot.cli.training import require_model
from bot.core.settings import RedisAddress, Settings
from bot.systems.registry import SCOPES, add_system
from tests.conversations.runner import (
    FIXED_NOW,
    HERE,
    Scenario,
    ScenarioResult,
    load_scenarios,
    open_world,
    run_scenario,
    summarise,
)


async def _play(settings: Settings, token: str, callback_port: int, scenarios: list[Scenario]) -> list[ScenarioResult]:
    results = []
    async with open_world(settings, token, callback_port) as world:
        for number, scenario in enumerate(scenarios, 1):
            result = await run_scenario(world, scenario)
            results.append(result)
            mark = "ok" if result.passed else "FAIL"
            print(f"[{number}/{len(scenarios)}] {mark:4} {scenario.id}", flush=True)
    return results


def _first_failure(result: ScenarioResult) -> str:
    for turn in result.turns:
        if turn.failures:
            return f"turn {turn.index}: {turn.failures[0]}"
    return result.error or "failed"


def case_scenarios(path: Path) -> list[Scenario]:
    """One single-message scenario per case of a safety case file, in a fresh conversation."""
    expectations = {
        "emergency": {"safety": "emergency"},
        "crisis": {"safety": "crisis"},
        "near_miss": {"safety": "none"},
        "gibberish": {"understood": False, "safety": "none"},
    }
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    return [
        Scenario(
            id=f"{path.stem}-{index}-{case['kind']}",
            language=case["lang"],
            description=case["kind"],
            setup={},
            turns=[{"say": case["text"], "expect": expectations[case["kind"]]}],
            path=path,
        )
        for index, case in enumerate(cases)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.conversations", description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=("fi", "sv", "en"), action="append", help="only these (repeatable)")
    parser.add_argument("--only", help="only scenarios whose id contains this")
    parser.add_argument("--root", type=Path, default=HERE, help="the folder of <lang>/*.yml scenario files")
    parser.add_argument(
        "--cases",
        type=Path,
        action="append",
        help="instead of the scenarios: each case of a safety case file (bench.safety_eval's format) as a "
        "one-message conversation (emergency and crisis expect their answer, near_miss no alarm, "
        "gibberish 'not understood'); repeatable",
    )
    parser.add_argument(
        "--write-known-failures",
        type=Path,
        metavar="FILE",
        help="write the failing scenarios with their first failure (tests/conversations/known_failures.yml)",
    )
    parser.add_argument("--failures", action="store_true", help="print every failing scenario turn by turn")
    args = parser.parse_args(argv)
    every = [c for path in args.cases for c in case_scenarios(path)] if args.cases else load_scenarios(args.root)
    scenarios = [
        s for s in every if (not args.language or s.language in args.language) and (not args.only or args.only in s.id)
    ]
    model = require_model()
    exit_on_sigterm()
    with tempfile.TemporaryDirectory() as tmp:
        callback_port = free_port()
        systems = Path(tmp) / "backoffice.yml"
        token, _ = add_system(
            systems,
            "scenarios",
            f"http://127.0.0.1:{callback_port}/callbacks",
            scopes=SCOPES,
            all_citizens=True,
            allow_private_callback=True,
        )
        os.environ.update({"CITYBOT_FIXED_NOW": FIXED_NOW, "CITYBOT_BACKOFFICE_FILE": str(systems)})
        settings = Settings(
            data_dir=Path(tmp),
            redis=RedisAddress("127.0.0.1", free_port(), password=secrets.token_urlsafe(24), embedded=True),
            rasa_port=free_port(),
            actions_port=free_port(),
            rasa_token=secrets.token_urlsafe(24),
            gateway_port=free_port(),
        )
        started = time.perf_counter()
        with Stack(settings, model=model, extra_env={"CITYBOT_FIXED_NOW": FIXED_NOW}):
            print(f"stack ready in {time.perf_counter() - started:.1f} s; {len(scenarios)} scenarios", flush=True)
            results = asyncio.run(_play(settings, token, callback_port, scenarios))
    if args.failures:
        for result in results:
            if not result.passed:
                print(result.report(), flush=True)
    if args.write_known_failures:
        failing = {r.scenario.id: _first_failure(r) for r in results if not r.passed}
        header = (
            "# Scenarios the service does not pass yet, with the first thing that went wrong\n"
            "# (written by python -m bench.conversations --write-known-failures; the test checks\n"
            "# that each still fails, so a fixed one must leave the list).\n"
        )
        body = yaml.safe_dump(failing, allow_unicode=True, sort_keys=True, width=200) if failing else "{}\n"
        args.write_known_failures.write_text(header + body, encoding="utf-8")
    report = summarise(results)
    for lang, figures in report.items():
        shown = "  ".join(
            f"{name} {f['share']:.0%} of {f['of']}" for name, f in figures.items() if f["share"] is not None
        )
        print(f"{lang}: {shown}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
