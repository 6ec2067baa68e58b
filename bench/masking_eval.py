"""How well personal data is masked: ``python -m bench.masking_eval [--cases FILE ...] [--misses]``.

Reads case files (``tests/data/pii_{fi,sv,en}.yml`` and ``pii_fresh_*.yml``: ``{version: 1, language, cases: [{text,
pii: [{kind, value}]}]}``, written by people who had not seen the masker) and prints, per
language and kind:

- **recall**: the share of personal values wholly inside what was masked;
- **false masks**: masked spans that touch no personal value, per message (the aim is at most
  1 %), and the share of messages without personal data that got any mask;
- the **cost** of masking one message (median microseconds over all the messages, 20 rounds).

The last line is the report as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bot.core.paths import PROJECT_ROOT
from bot.privacy.masking import Found, Masker

DEFAULT_CASES = [
    PROJECT_ROOT / "tests" / "data" / f"pii_{fresh}{lang}.yml"
    for fresh in ("", "fresh_")
    for lang in ("fi", "sv", "en")
]


def load(path: Path) -> tuple[str, list[dict[str, Any]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("cases"), list):
        raise SystemExit(f"{path}: expected {{version: 1, language, cases: [...]}}")
    for i, case in enumerate(data["cases"]):
        for value in case.get("pii") or []:
            if value["value"] not in case["text"]:
                raise SystemExit(f"{path}: case {i + 1}: {value['value']!r} is not in its text")
    return str(data["language"]), data["cases"]


def spans(text: str, values: list[dict[str, str]]) -> list[tuple[str, int, int]]:
    """Where each expected value is in the text (the first occurrence not already used)."""
    out: list[tuple[str, int, int]] = []
    for value in values:
        start = text.find(value["value"])
        while any(start == s for _, s, _ in out) and start >= 0:
            start = text.find(value["value"], start + 1)
        out.append((value["kind"], start, start + len(value["value"])))
    return out


def evaluate(masker: Masker, cases: list[dict[str, Any]]) -> dict[str, Any]:
    found_by_kind: Counter[str] = Counter()
    total_by_kind: Counter[str] = Counter()
    false_masks, clean, clean_masked = 0, 0, 0
    misses: list[str] = []
    wrong: list[str] = []
    for case in cases:
        text = case["text"]
        expected = spans(text, case.get("pii") or [])
        masked: list[Found] = masker.find(text)
        for kind, start, end in expected:
            total_by_kind[kind] += 1
            if any(f.start <= start and end <= f.end for f in masked):
                found_by_kind[kind] += 1
            else:
                misses.append(f"{kind}: {text[start:end]!r} in {text!r}")
        for f in masked:
            if not any(f.start < end and start < f.end for _, start, end in expected):
                false_masks += 1
                wrong.append(f"{f.kind}: {f.value!r} in {text!r}")
        if not expected:
            clean += 1
            clean_masked += bool(masked)
    values = sum(total_by_kind.values())
    return {
        "messages": len(cases),
        "values": values,
        "recall": round(sum(found_by_kind.values()) / values, 4) if values else None,
        "recall_by_kind": {k: round(found_by_kind[k] / n, 3) for k, n in sorted(total_by_kind.items())},
        "false_masks_per_message": round(false_masks / len(cases), 4),
        "clean_messages_masked": round(clean_masked / clean, 4) if clean else None,
        "misses": misses,
        "false_masks": wrong,
    }


def cost_microseconds(masker: Masker, texts: list[str], rounds: int = 20) -> float:
    """Median time to mask one message, in microseconds."""
    times = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            masker.mask(text, "fi")
            times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1e6, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.masking_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", action="append", type=Path, help="a case file (repeatable)")
    parser.add_argument("--misses", action="store_true", help="list every miss and false mask")
    args = parser.parse_args(argv)
    masker = Masker()
    report: dict[str, Any] = {}
    everything: list[dict[str, Any]] = []
    for path in args.cases or DEFAULT_CASES:
        language, cases = load(path)
        language = f"{language} ({path.stem})"
        everything += cases
        result = evaluate(masker, cases)
        report[language] = {k: v for k, v in result.items() if k not in ("misses", "false_masks")}
        print(
            f"{language}: {result['messages']} messages, {result['values']} values, recall {result['recall']:.1%}, "
            f"false masks {result['false_masks_per_message']:.1%} per message, "
            f"clean messages masked {result['clean_messages_masked']:.1%}  {result['recall_by_kind']}"
        )
        if args.misses:
            for line in result["misses"]:
                print(f"  missed   {line}")
            for line in result["false_masks"]:
                print(f"  wrongly  {line}")
    overall = evaluate(masker, everything)
    report["all"] = {k: v for k, v in overall.items() if k not in ("misses", "false_masks")}
    report["microseconds_per_message"] = cost_microseconds(masker, [c["text"] for c in everything])
    print(
        f"all: recall {overall['recall']:.2%}, false masks {overall['false_masks_per_message']:.2%} per message; "
        f"{report['microseconds_per_message']} µs per message (median)"
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
