"""How well the safety check recognises emergencies and crises: ``python -m bench.safety_eval``.

Reads cases ``{version: 1, cases: [{lang, kind: emergency|crisis|near_miss|gibberish, text}]}``
(default: ``tests/data/safety_*.yml``, written by people who never saw the rules) and prints, per
language, the share of emergencies answered as an emergency (and, as ``emergency_112_first``,
with either answer: both lead with 112), of crises answered as an emergency or a crisis, and of
near misses and gibberish answered as neither. The last line is the report as JSON.
``--half even|odd`` takes every other case (tune on one half, report the other).
``--scenarios`` takes instead the citizen messages of the conversation scenarios
(``tests/conversations``): a turn expecting ``safety: emergency|crisis`` is that kind, every other
typed message an ordinary one (``near_miss`` in the figures), checked without the running service.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from bot.core.paths import PROJECT_ROOT
from bot.safety.detector import Danger, load_safety

DEFAULT_CASES = [PROJECT_ROOT / "tests" / "data" / f"safety_{language}.yml" for language in ("fi", "sv", "en")]


def scenario_cases() -> list[dict[str, str]]:
    """The typed messages of the conversation scenarios as cases (see the module's docstring)."""
    from tests.conversations.runner import load_scenarios

    cases = []
    for scenario in load_scenarios():
        for turn in scenario.turns:
            if "say" in turn:
                kind = (turn.get("expect") or {}).get("safety")
                kind = kind if kind in ("emergency", "crisis") else "near_miss"
                cases.append({"lang": scenario.language, "kind": kind, "text": str(turn["say"])})
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.safety_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, action="append", help="a case file (repeatable)")
    parser.add_argument("--half", choices=("even", "odd", "all"), default="all")
    parser.add_argument("--scenarios", action="store_true", help="also the conversation scenarios' messages")
    parser.add_argument("--misses", action="store_true", help="print each wrong case")
    args = parser.parse_args(argv)
    rules = load_safety()
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    paths = args.cases or ([] if args.scenarios else DEFAULT_CASES)
    sources = [yaml.safe_load(path.read_text(encoding="utf-8"))["cases"] for path in paths]
    if args.scenarios:
        sources.append(scenario_cases())
    for cases in sources:
        for index, case in enumerate(cases):
            if args.half != "all" and index % 2 != (0 if args.half == "even" else 1):
                continue
            finding = rules.assess(case["text"])
            if case["kind"] == "emergency":
                right = finding is not None and finding.danger is Danger.EMERGENCY
            elif case["kind"] == "crisis":
                right = finding is not None
            else:
                right = finding is None
            tally = totals[(case["lang"], case["kind"])]
            tally[0] += right
            tally[1] += 1
            if case["kind"] == "emergency":  # the crisis answer also leads with 112
                first = totals[(case["lang"], "emergency_112_first")]
                first[0] += finding is not None
                first[1] += 1
            if args.misses and not right:
                print(f"MISS {case['lang']} {case['kind']}: {case['text']!r} -> {finding}", file=sys.stderr)
    report = {
        lang: {kind: round(ok / n, 3) for (lg, kind), (ok, n) in sorted(totals.items()) if lg == lang}
        for lang in sorted({lang for lang, _ in totals})
    }
    counts = {f"{lang}/{kind}": n for (lang, kind), (_, n) in sorted(totals.items())}
    for lang, figures in report.items():
        print(lang, "  ".join(f"{kind} {share:.0%}" for kind, share in figures.items()))
    print(json.dumps({"half": args.half, "share_right": report, "cases": counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
