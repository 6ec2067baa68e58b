"""A loopback TCP load balancer for tests: what a Kubernetes Service does in front of replicas.

Each new connection goes to the next backend in turn; a backend that refuses the connection (its
process is dead) is skipped. Bytes are copied both ways until either side closes; a connection to
a backend that dies is closed on the client's side too, as kube-proxy's would be. No stickiness:
the web chat's websocket transport needs none (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading

from bot.cli.supervisor import free_port


class Balancer:
    """Round-robin over ``backends`` (ports on 127.0.0.1), in a thread of its own."""

    def __init__(self, backends: list[int]) -> None:
        self.port = free_port()
        self._backends = list(backends)
        self._turn = itertools.cycle(range(len(backends)))
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"balancer-{self.port}", daemon=True)
        self.connections = [0] * len(backends)  # connections made to each backend

    def __enter__(self) -> Balancer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the balancer did not start")
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(len(self._backends)):
            index = next(self._turn)
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._backends[index])
            except OSError:
                continue  # refused: dead, try the next
            self.connections[index] += 1
            break
        else:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
