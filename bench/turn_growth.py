"""Does a turn get slower as a conversation gets longer? ``python -m bench.turn_growth``.

Starts the whole stack, then plays one long web chat conversation through the gateway (socket.io,
each message acknowledged once its replies are out) and one straight to Rasa's channel, each of
``--messages`` messages (a rotation of ordinary questions), ``--think`` seconds apart, and prints
the median reply time of turns 1-10, the middle ten and the last ten, and the ratio of the last
to the first. The last line is the report as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.load_webchat import bench_settings
from bot.cli.supervisor import Stack, exit_on_sigterm
from bot.core.settings import Settings
from tests.clients import Citizen

MESSAGES = [
    "milloin Oodi on auki?",
    "miten haen päivähoitopaikkaa?",
    "kiitos",
    "mihin laitan vanhat paristot?",
    "paljonko asukaspysäköintitunnus maksaa?",
    "miten varaan ajan terveysasemalle?",
]


async def through_gateway(settings: Settings, count: int, think: float) -> list[float]:
    """Reply times (ms) of one web chat conversation, turn by turn."""
    citizen = Citizen()
    times = []
    try:
        sid = await citizen.start(f"http://127.0.0.1:{settings.gateway_port}")
        for turn in range(count):
            data = {"message": MESSAGES[turn % len(MESSAGES)], "session_id": sid, "customData": {"language": "fi"}}
            started = time.perf_counter()
            ack = await citizen.client.call("user_uttered", data, timeout=60)
            times.append((time.perf_counter() - started) * 1000)
            if not ack.get("ok"):
                raise RuntimeError(f"turn {turn + 1} failed: {ack}")
            await asyncio.sleep(think)
            if turn % 20 == 19:
                print(f"  gateway: {turn + 1} turns", flush=True)
    finally:
        await citizen.client.disconnect()
    return times


async def straight_to_rasa(settings: Settings, count: int, think: float) -> list[float]:
    """Reply times (ms) of one conversation posted straight to Rasa's channel."""
    url = f"{settings.rasa_url}/webhooks/citybot/webhook"
    headers = {"Authorization": f"Bearer {settings.rasa_token}"}
    sender = f"bench:growth:{time.time_ns()}"
    times = []
    async with aiohttp.ClientSession() as session:
        for turn in range(count):
            body = {"sender": sender, "message": MESSAGES[turn % len(MESSAGES)], "metadata": {"language_hint": "fi"}}
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(think)
            if turn % 20 == 19:
                print(f"  direct: {turn + 1} turns", flush=True)
    return times


def turn_windows(times: list[float]) -> dict[str, float]:
    n = len(times)
    middle = n // 2
    first, mid, last = times[:10], times[max(0, middle - 5) : middle + 5], times[-10:]
    report = {
        "first_10_ms": round(statistics.median(first), 1),
        "middle_10_ms": round(statistics.median(mid), 1),
        "last_10_ms": round(statistics.median(last), 1),
    }
    report["last_to_first"] = round(report["last_10_ms"] / report["first_10_ms"], 2)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.turn_growth", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--think", type=float, default=0.2, help="seconds between a reply and the next message")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp))
        with Stack(settings, extra_env={"CITYBOT_MAX_MESSAGES_PER_MINUTE": "10000"}):
            gateway = asyncio.run(through_gateway(settings, args.messages, args.think))
            direct = asyncio.run(straight_to_rasa(settings, args.messages, args.think))
    report = {"messages": args.messages, "think_seconds": args.think}
    report["gateway"] = turn_windows(gateway)
    report["direct"] = turn_windows(direct)
    for name in ("gateway", "direct"):
        figures = report[name]
        print(
            f"{name:8} turns 1-10 {figures['first_10_ms']} ms, middle {figures['middle_10_ms']} ms, "
            f"last 10 {figures['last_10_ms']} ms (x{figures['last_to_first']})"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
