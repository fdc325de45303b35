"""A TCP proxy on 127.0.0.1 for fault tests: put it in front of PostgreSQL (or anything else)
and cut the line silently, as a network partition does.

    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test"
    proxy.cut()       # silent partition: nothing flows either way, nobody is told
    proxy.restore()   # the line is back: what was held is delivered, in order, like TCP does
    proxy.reset()     # every open connection is closed at once (a server restart, loud)
    proxy.stop()

While cut, connections stay open and new ones are accepted by the kernel, but no byte is
forwarded and no upstream connection is made: a client sees neither an error nor an answer,
which is exactly what a dropped route or a frozen middlebox looks like. Only the client's own
timeouts get it out. `restore()` resumes forwarding on every connection still open.

Thread-safe; usable as a context manager. Runs its own asyncio loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

_CHUNK = 65536


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._open = asyncio.Event()  # set: forwarding; clear: cut
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0  # connections accepted so far (cut or not)

    # -- control (any thread) ----------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def cut(self) -> None:
        """Stop forwarding, silently, on every connection, open or new."""
        self._call(self._set(False))

    def restore(self) -> None:
        """Forward again; bytes held during the cut are delivered."""
        self._call(self._set(True))

    def reset(self) -> None:
        """Close every open connection now (both sides see the connection end)."""
        self._call(self._close_all())

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def is_cut(self) -> bool:
        return not self._open.is_set()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    # -- the loop's side ---------------------------------------------------------------------

    async def _set(self, on: bool) -> None:
        if on:
            self._open.set()
        else:
            self._open.clear()

    async def _start(self) -> None:
        self._open.set()
        self._server = await asyncio.start_server(self._serve, self.host, self.port, backlog=512)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        up_writer: asyncio.StreamWriter | None = None
        try:
            await self._open.wait()  # during a cut, the upstream is not even dialled
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            self._writers.add(up_writer)
            await asyncio.gather(
                self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
            )
        except (OSError, asyncio.CancelledError):
            pass  # a refused upstream, or the proxy stopping: the client just sees the end
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    self._writers.discard(w)
                    w.close()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._open.wait()
                data = await src.read(_CHUNK)
                # A cut that began while this read waited still holds what it brought.
                await self._open.wait()
                if not data:
                    break
                dst.write(data)
                await dst.drain()
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                if dst.can_write_eof():
                    dst.write_eof()
            dst.close()

    async def _close_all(self) -> None:
        for w in list(self._writers):
            w.close()
        self._writers.clear()

    async def _shutdown(self) -> None:
        self._open.set()
        if self._server is not None:
            self._server.close()
        await self._close_all()
        me = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not me]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
