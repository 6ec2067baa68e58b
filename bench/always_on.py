"""Issue 13's figures in one run on one machine: ``python -m bench.always_on [--profile]``.

1. Saturation (50 conversations x 10 messages, no think time) through the gateway, and 50
   conversations with 5 s think time (p95), with one and with two Rasa workers.
2. Turn latency at turns 1-10 and 90-100 of one 100-message web chat conversation.
3. ``--profile``: during the one-worker saturation run, py-spy samples the Rasa process and the
   gateway for ``--profile-seconds``; prints where each spends its time (the leaf functions and
   the packages they are in, as shares of the samples).

Prints progress, one line per figure, and the whole report as JSON on the last line. Takes about
six minutes on two cores. The machine is shared and noisy: compare medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load_webchat import bench_settings, run_mode
from bench.turn_growth import through_gateway, turn_windows
from bot.cli.supervisor import Stack, exit_on_sigterm
from bot.core.paths import PROJECT_ROOT

FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _package(path: str) -> str:
    """The top package of a frame's file: ``rasa``, ``tensorflow``, ``asyncio``, ``bot`` ..."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for ours in ("bot", "channels", "actions", "nlu"):
        if f"/{ours}/" in path or path.startswith(f"{ours}/"):
            return f"(ours) {ours}"
    return Path(path).stem if "/lib/python3" in path else path.split("/", 1)[0] or path


def summarise_profile(raw: str, top: int = 12) -> dict[str, Any]:
    """Shares of samples by leaf function and by the leaf's package, from py-spy's raw format
    (one line per distinct stack: ``frame;frame;...;frame count``). Idle samples are left out
    (py-spy records only active threads unless told otherwise)."""
    by_function: collections.Counter[str] = collections.Counter()
    by_package: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        match = FRAME.match(leaf)
        function, path = (match["function"], match["file"]) if match else (leaf, "")
        by_function[f"{function} ({Path(path).name})"] += int(count)
        by_package[_package(path)] += int(count)
        total += int(count)
        for frame in set(stack.split(";")):  # inclusive: the sample is spent in or under it
            found = FRAME.match(frame)
            if found and not found["file"].endswith(("runners.py", "base_events.py", "events.py")):
                inclusive[f"{found['function']} ({_short(found['file'])})"] += int(count)
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "functions": {name: round(n / total, 3) for name, n in by_function.most_common(top)},
        "packages": {name: round(n / total, 3) for name, n in by_package.most_common(top)},
        "inclusive": {
            name: round(n / total, 3) for name, n in inclusive.most_common() if n / total < 0.9 and n / total >= 0.03
        },
    }


def _short(path: str) -> str:
    """A frame's file without the environment's prefix: ``rasa/core/processor.py``."""
    return path.split("site-packages/", 1)[-1] if "site-packages/" in path else path.split(f"{PROJECT_ROOT}/", 1)[-1]


def start_profiles(stack: Stack, seconds: int, folder: Path) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
    beside = Path(sys.executable).parent / "py-spy"  # the virtualenv's, when it is not on PATH
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed (requirements/dev.in); run `make setup`")
    running = []
    for managed in stack.processes:
        if managed.name not in ("rasa", "gateway"):
            continue
        out = folder / f"{managed.name}.txt"
        command = [spy, "record", "--pid", str(managed.process.pid), "--duration", str(seconds), "--rate", "200"]
        command += ["--format", "raw", "--output", str(out), "--subprocesses", "--nonblocking"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        running.append((managed.name, process, out))
    return running


def finish_profiles(running: list[tuple[str, subprocess.Popen[bytes], Path]]) -> dict[str, Any]:
    profiles = {}
    for name, process, out in running:
        _, err = process.communicate(timeout=120)
        if process.returncode != 0 or not out.exists():
            profiles[name] = {"error": err.decode(errors="replace").strip()[-300:]}
            continue
        profiles[name] = summarise_profile(out.read_text(encoding="utf-8"))
    return profiles


def measure(workers: int, profile_seconds: int | None, tmp: Path) -> dict[str, Any]:
    settings = bench_settings(tmp / f"workers{workers}", workers)
    report: dict[str, Any] = {"rasa_workers": workers}
    with Stack(settings, extra_env={"CITYBOT_MAX_MESSAGES_PER_MINUTE": "10000"}) as stack:
        print(f"[{workers} worker(s)] stack ready; warming up ...", flush=True)
        asyncio.run(run_mode("gateway", settings, 5, 4, 0))
        profiles = start_profiles(stack, profile_seconds, tmp) if profile_seconds else []
        print(f"[{workers} worker(s)] saturation: 50 conversations x 10 messages, no think time ...", flush=True)
        report["saturation"] = asyncio.run(run_mode("gateway", settings, 50, 10, 0))
        if profiles:
            report["profile"] = finish_profiles(profiles)
        print(f"[{workers} worker(s)] {json.dumps(report['saturation'])}", flush=True)
        print(f"[{workers} worker(s)] 50 conversations x 6 messages, 5 s think time ...", flush=True)
        report["think_5s"] = asyncio.run(run_mode("gateway", settings, 50, 6, 5.0))
        print(f"[{workers} worker(s)] {json.dumps(report['think_5s'])}", flush=True)
        if workers == 1:  # the turn's growth with the conversation: one worker is enough
            print("[1 worker] one conversation of 100 messages, 0.2 s apart ...", flush=True)
            report["turn_growth"] = turn_windows(asyncio.run(through_gateway(settings, 100, 0.2)))
            print(f"[1 worker] {json.dumps(report['turn_growth'])}", flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.always_on", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="profile Rasa and the gateway at saturation (py-spy)")
    parser.add_argument("--profile-seconds", type=int, default=6)
    parser.add_argument("--workers", default="1,2", help="the Rasa worker counts to measure, comma-separated")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        runs = [
            measure(workers, args.profile_seconds if args.profile and workers == 1 else None, Path(folder))
            for workers in sorted({int(w) for w in args.workers.split(",")})
        ]
    print("\nworkers  msg/s at saturation  p50 / p95 (ms)     p50 / p95 with 5 s think time (ms)")
    for run in runs:
        sat, think = run["saturation"], run["think_5s"]
        print(
            f"{run['rasa_workers']:>7}  {sat['messages_per_second']:>19}  {sat['p50_ms']:>6} / {sat['p95_ms']:<8}  "
            f"{think['p50_ms']:>6} / {think['p95_ms']}"
        )
    growth = runs[0].get("turn_growth")
    if growth:
        first, last, ratio = growth["first_10_ms"], growth["last_10_ms"], growth["last_to_first"]
        print(f"turn 1-10 {first} ms, turn 91-100 {last} ms: x{ratio}")
    for name, found in runs[0].get("profile", {}).items():
        print(f"\nprofile of {name} at saturation ({found.get('samples', 0)} samples):")
        for kind in ("packages", "functions", "inclusive"):
            for label, share in (found.get(kind) or {}).items():
                print(f"  {share:6.1%}  {label}" if kind != "inclusive" else f"  {share:6.1%}  in or under {label}")
    print(json.dumps({"runs": runs, "seconds": round(time.perf_counter() - started)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
