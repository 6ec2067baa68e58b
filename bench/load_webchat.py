"""Load test: N concurrent web chat conversations through the gateway vs straight to the bot.

    python -m bench.load_webchat [--conversations 50] [--messages 10] [--think 5]

Starts the whole stack (embedded Redis, actions, Rasa, gateway) on free loopback ports, then for
each mode runs N conversations at once, each sending M messages one after another (waiting for
the reply, then "thinking" a random 0.5-1.5 x THINK seconds, as a citizen reads and types, before
the next; starts are spread over one think time; ``--think 0`` measures saturation), and prints
p50/p95/p99 reply latency and messages per second:

- ``gateway``: socket.io web chat clients (what citizens use);
- ``direct``: the same messages straight to the bot's token-protected Rasa channel over HTTP.

The ratio of the two is the gateway's overhead. Also prints how long the stack took to become
ready and the memory (RSS) of each process after the load. Bounded: at most N*M messages per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from bot.cli.supervisor import Stack, exit_on_sigterm, free_port
from bot.core.settings import RedisAddress, Settings

MESSAGES = [
    "hei",
    "onko Oodi auki nyt?",
    "miten haen päiväkotipaikkaa",
    "var finns närmaste hälsostation",
    "how do I renew my library loans",
    "kiitos",
    "mitä osaat?",
    "när öppnar Itäkeskus simhall på söndag?",
    "where can I recycle an old sofa",
    "thanks",
]


def bench_settings(data_dir: Path, rasa_workers: int = 1) -> Settings:
    """The whole stack on free loopback ports, with the per-client message limit out of the way."""
    return Settings(
        rasa_workers=rasa_workers,
        data_dir=data_dir,
        redis=RedisAddress("127.0.0.1", free_port(), password=secrets.token_urlsafe(24), embedded=True),
        rasa_port=free_port(),
        actions_port=free_port(),
        rasa_token="bench-token",
        gateway_port=free_port(),
        max_messages_per_minute=10_000,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def pause(think: float) -> None:
    if think > 0:
        await asyncio.sleep(think * random.uniform(0.5, 1.5))


async def pause_before_start(think: float) -> None:
    """Citizens do not all start at the same instant: spread the starts over one think time."""
    if think > 0:
        await asyncio.sleep(random.uniform(0, think))


async def gateway_conversation(url: str, count: int, latencies: list[float], think: float) -> None:
    client = socketio.AsyncClient(reconnection=False)
    replies: asyncio.Queue[Any] = asyncio.Queue()
    confirmed: asyncio.Queue[str] = asyncio.Queue()
    client.on("bot_uttered", lambda data: replies.put_nowait(data))
    client.on("session_confirm", lambda data: confirmed.put_nowait(data))
    await pause_before_start(think)
    await client.connect(url, transports=["websocket"])
    await client.emit("session_request", {"session_id": None})
    session_id = await asyncio.wait_for(confirmed.get(), 30)
    for i in range(count):
        started = time.perf_counter()
        await client.emit("user_uttered", {"message": MESSAGES[i % len(MESSAGES)], "session_id": session_id})
        await asyncio.wait_for(replies.get(), 60)
        latencies.append(time.perf_counter() - started)
        await pause(think)
        while not replies.empty():  # a message with several replies
            replies.get_nowait()
    await client.disconnect()


async def direct_conversation(
    settings: Settings, sender: str, count: int, latencies: list[float], think: float
) -> None:
    url = f"{settings.rasa_url}/webhooks/citybot/webhook"
    headers = {"Authorization": f"Bearer {settings.rasa_token}"}
    await pause_before_start(think)
    async with aiohttp.ClientSession() as session:
        for i in range(count):
            started = time.perf_counter()
            body = {"sender": sender, "message": MESSAGES[i % len(MESSAGES)], "channel": "bench"}
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
            latencies.append(time.perf_counter() - started)
            await pause(think)


async def run_mode(mode: str, settings: Settings, conversations: int, messages: int, think: float) -> dict[str, float]:
    latencies: list[float] = []
    started = time.perf_counter()
    if mode == "gateway":
        url = f"http://127.0.0.1:{settings.gateway_port}"
        await asyncio.gather(*(gateway_conversation(url, messages, latencies, think) for _ in range(conversations)))
    else:
        await asyncio.gather(
            *(
                direct_conversation(settings, f"bench:{time.time_ns()}:{i}", messages, latencies, think)
                for i in range(conversations)
            )
        )
    elapsed = time.perf_counter() - started
    return {
        "messages": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "messages_per_second": round(len(latencies) / elapsed, 1),
    }


def rss_mb(pid: int) -> float:
    total = 0
    try:
        import psutil

        process = psutil.Process(pid)
        total = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
    except Exception:  # noqa: BLE001 - a process that exited has no memory to report
        return 0.0
    return round(total / 2**20, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_webchat", description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per mode; medians reported")
    parser.add_argument("--think", type=float, default=5.0, help="mean seconds between a reply and the next message")
    parser.add_argument("--rasa-workers", type=int, default=1, help="Rasa's worker processes (SANIC_WORKERS)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp), args.rasa_workers)
        exit_on_sigterm()
        started = time.perf_counter()
        with Stack(settings, extra_env={"CITYBOT_MAX_MESSAGES_PER_MINUTE": "10000"}) as stack:
            ready = time.perf_counter() - started
            print(f"stack ready in {ready:.1f} s; warming up ...", flush=True)
            asyncio.run(run_mode("direct", settings, 5, 4, 0))
            asyncio.run(run_mode("gateway", settings, 5, 4, 0))
            rounds: dict[str, list[dict[str, float]]] = {"direct": [], "gateway": []}
            for r in range(args.rounds):
                for mode in ("direct", "gateway"):
                    result = asyncio.run(run_mode(mode, settings, args.conversations, args.messages, args.think))
                    rounds[mode].append(result)
                    print(f"round {r + 1} {mode:8} {json.dumps(result)}", flush=True)
            summary = {
                mode: {key: statistics.median(r[key] for r in results) for key in results[0]}
                for mode, results in rounds.items()
            }
            memory = {m.name: rss_mb(m.process.pid) for m in stack.processes}
    overhead = summary["gateway"]["p95_ms"] / summary["direct"]["p95_ms"] - 1
    report = {
        "conversations": args.conversations,
        "messages_per_conversation": args.messages,
        "rounds": args.rounds,
        "think_seconds": args.think,
        "rasa_workers": args.rasa_workers,
        "ready_seconds": round(ready, 1),
        "median_of_rounds": summary,
        "gateway_p95_overhead": round(overhead, 3),
        "rss_mb": memory,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
