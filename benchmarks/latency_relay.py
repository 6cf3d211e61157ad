"""A TCP relay on loopback that adds network latency, for benchmarks: a server "far away" without a network.

Bytes pass through untouched (TLS stays end to end between the client and the real server), each chunk delivered
``rtt / 2`` milliseconds after it arrived, in each direction, so every round trip costs ``rtt`` more, as it would
across a network. It runs in its own process (``start_relay``), so its work never competes with the measured
client for the interpreter lock, and costs a few system calls per chunk (no TLS, no HTTP parsing), unlike the
test suite's fault proxy. Loopback only.

Usage (standalone)::

    python benchmarks/latency_relay.py TARGET_HOST TARGET_PORT RTT_MS   # prints the port it listens on
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["relay_url", "start_relay"]

LOOPBACK = "127.0.0.1"
_CHUNK = 65536


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            at, data = await due.get()
            wait = at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.write_eof() if writer.can_write_eof() else writer.close()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(_CHUNK)
            due.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await delivering
    except (ConnectionError, OSError):
        delivering.cancel()
    finally:
        writer.close()


async def _serve(target_host: str, target_port: int, rtt_ms: float) -> None:
    delay = rtt_ms / 2000

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        upstream = _pump(client_reader, server_writer, delay)
        await asyncio.gather(upstream, _pump(server_reader, client_writer, delay), return_exceptions=True)

    server = await asyncio.start_server(handle, LOOPBACK, 0, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def start_relay(target_host: str, target_port: int, rtt_ms: float) -> Iterator[int]:
    """Run a relay to ``target_host:target_port`` adding ``rtt_ms`` per round trip in a child process; yield the
    loopback port it listens on, and stop it (only it) afterwards."""
    child = subprocess.Popen(
        [sys.executable, __file__, target_host, str(target_port), str(rtt_ms)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"the latency relay did not start (it printed {line!r})")
        time.sleep(0.05)
        yield int(line)
    finally:
        child.terminate()
        child.wait(timeout=10)


def relay_url(url: str, port: int) -> str:
    """``url`` (``https://127.0.0.1:<server port>``) pointed at the relay's ``port`` instead."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rsplit(':', 1)[0]}:{port}"


if __name__ == "__main__":
    host, port, rtt = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    asyncio.run(_serve(host, port, rtt))
