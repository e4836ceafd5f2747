"""A loopback TCP proxy in front of the broker: counts the bytes of every connection (the
bench's wire-bytes figure) and can cut the path (an outage as the agent sees it: connections
reset, new ones refused) while the broker and its subscribers stay up."""

from __future__ import annotations

import select
import socket
import threading
import time

from broker import free_port


class TcpProxy:
    def __init__(self, target_port: int, port: int | None = None, capture: bool = False) -> None:
        self.target_port = target_port
        # capture: every chunk as (connection number, "up"/"down", monotonic time, bytes), so the
        # bench can read the TLS record headers and say where the bytes go
        self.capture = capture
        self.chunks: list[tuple[int, str, float, bytes]] = []
        self.port = port or free_port()
        self.bytes_up = 0  # client -> broker
        self.bytes_down = 0  # broker -> client
        self.connections = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._stop = threading.Event()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    @property
    def bytes_total(self) -> int:
        return self.bytes_up + self.bytes_down

    def up(self) -> TcpProxy:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(8)
        self._listener = ls
        self._stop = threading.Event()  # a new generation: old threads keep their own (set) event
        threading.Thread(target=self._accept, args=(ls, self._stop), daemon=True).start()
        return self

    def down(self) -> None:
        """Refuse new connections and reset the open ones."""
        self._stop.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    s.close()
                except OSError:
                    pass

    def _accept(self, ls: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                c.close()
                continue
            with self._lock:
                self._pairs.append((c, u))
                self.connections += 1
                conn = self.connections
            threading.Thread(target=self._pump, args=(c, u, stop, conn), daemon=True).start()

    def _pump(self, c: socket.socket, u: socket.socket, stop: threading.Event, conn: int = 0) -> None:
        try:
            while not stop.is_set():
                r, _, _ = select.select([c, u], [], [], 0.5)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (u if s is c else c).sendall(data)
                    with self._lock:
                        if s is c:
                            self.bytes_up += len(data)
                        else:
                            self.bytes_down += len(data)
                        if self.capture:
                            self.chunks.append((conn, "up" if s is c else "down", time.monotonic(), data))
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                if (c, u) in self._pairs:
                    self._pairs.remove((c, u))
            for s in (c, u):
                try:
                    s.close()
                except OSError:
                    pass
