"""A userspace TCP proxy that adds a chosen delay to each direction, changeable while it runs.

This machine's kernel has no netem, so the gateway tests slow a link down by putting this proxy in
front of a backend. It runs one asyncio loop on a thread of its own. Each direction of each
connection is a reader task and a writer task joined by a queue: the reader stamps every chunk with
(arrival + delay) and the writer sends it no earlier than that, so the delay adds latency without
limiting throughput, and bytes keep their order when the delay changes. An end of stream on one
side becomes an end of stream on the other; a reset (or a refused connection to the backend)
becomes a reset, as a killed process's peer would see.

Used by the gateway tests and by benchmarks/gateway_bench.py; it listens on 127.0.0.1 only.
"""

import asyncio
import socket
import struct
import threading
import time

_CHUNK = 64 * 1024
_EOF = b""  # queued after the last chunk: end the other side's write direction
_RESET = None  # queued when the source was reset: reset the destination too


class LatencyProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`, delaying each direction by `delay_ms`.

    Thread safe: set_delay and close may be called from any thread.
    """

    def __init__(self, target_port: int, port: int = 0, delay_ms: float = 0.0):
        self.target_port = target_port
        self._delay_s = delay_ms / 1000.0
        self.connections_total = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(port), self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def delay_ms(self) -> float:
        return self._delay_s * 1000.0

    def set_delay(self, delay_ms: float) -> None:
        """Applies to every byte that arrives from now on, on open connections too."""
        self._delay_s = delay_ms / 1000.0

    def close(self) -> None:
        """Stops listening and resets every open connection."""
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    async def _listen(self, port: int):
        return await asyncio.start_server(self._on_client, "127.0.0.1", port, reuse_address=True, backlog=256)

    async def _shutdown(self) -> None:
        self._server.close()
        for w in list(self._writers):
            _reset(w)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in others:
            t.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self._server.wait_closed()

    async def _on_client(self, client_reader, client_writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(client_writer)  # the backend is gone
            return
        self.connections_total += 1
        for w in (client_writer, up_writer):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._writers.add(w)
        await asyncio.gather(
            self._pipe(client_reader, up_writer, client_writer),
            self._pipe(up_reader, client_writer, up_writer),
        )
        for w in (client_writer, up_writer):
            self._writers.discard(w)
            w.close()

    async def _pipe(self, reader, writer, source_writer) -> None:
        """Copies reader -> writer, each chunk sent at its arrival time plus the delay."""
        chunks: asyncio.Queue = asyncio.Queue()

        async def read():
            while True:
                try:
                    data = await reader.read(_CHUNK)
                except (OSError, asyncio.IncompleteReadError):
                    data = _RESET
                chunks.put_nowait((time.monotonic() + self._delay_s, data))
                if not data:
                    return

        reading = asyncio.ensure_future(read())
        try:
            while True:
                due, data = await chunks.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is _RESET:
                    _reset(writer)
                    return
                if data == _EOF:
                    if writer.can_write_eof() and not writer.is_closing():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError):
            _reset(source_writer)  # the destination is gone: tell the source
        finally:
            reading.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Closes with SO_LINGER 0, so the peer gets a RST, as it would from a killed process."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()
