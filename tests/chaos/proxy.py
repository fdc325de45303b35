"""A TCP proxy in front of PostgreSQL that the chaos test partitions and heals.

`cut()` is a *silent* partition, the kind issue 15 found hangs everything: connections stay
open and new ones are accepted, but no byte moves either way, as when packets are dropped on
the floor; nothing is closed, so only a client's own timeouts notice. `restore()` lets the
held bytes through again, as TCP does when a partition heals before its retransmissions give
up. `cut(reset=True)` closes every connection instead, like a restarted database."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class TcpProxy:
    target: tuple[str, int]
    host: str = "127.0.0.1"
    port: int = 0
    cuts: int = 0
    _open: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _conns: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._open.set()
        self._listener = socket.create_server((self.host, self.port), backlog=128)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._open.set()
        self._listener.close()
        self._close_all()

    @property
    def is_cut(self) -> bool:
        return not self._open.is_set()

    def cut(self, *, reset: bool = False) -> None:
        self.cuts += 1
        if reset:
            self._close_all()
        else:
            self._open.clear()

    def restore(self) -> None:
        self._open.set()

    # -- internals ------------------------------------------------------------------------

    def _close_all(self) -> None:
        with self._lock:
            conns, self._conns = set(self._conns), set()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        # A connection made during a partition waits for it to heal, like a SYN retransmitted.
        self._open.wait()
        try:
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        with self._lock:
            self._conns |= {client, upstream}
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self._open.wait()  # a partition holds what was read until it heals
                if self._stop.is_set():
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
