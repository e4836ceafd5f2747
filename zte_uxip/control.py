"""The local control socket: how `zte-uxip status|export|purge` reach the running agent, whose
RAM holds records the files do not.

A unix stream socket in the RAM state dir, mode 0600 (root only). A request is one line naming
a verb from a fixed set; the answer is one JSON document. Nothing from the socket reaches a
path or a command: an unknown verb gets an error answer.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
VERBS = ("status", "export", "purge")
MAX_REQUEST_BYTES = 64
MAX_ANSWER_BYTES = 64 * 1024 * 1024


def socket_path(state_dir: str) -> str:
    return os.path.join(state_dir, SOCKET_NAME)


class ControlServer:
    def __init__(self, state_dir: str, handler: Callable[[str], dict[str, Any]]) -> None:
        self.path = socket_path(state_dir)
        self._handler = handler
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)
        try:
            self.sock.bind(self.path)
        finally:
            os.umask(old)
        self.sock.listen(4)
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def handle(self) -> None:
        """Answer one waiting client (called when select() says the socket is readable)."""
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return
        with conn:
            conn.settimeout(1.0)
            try:
                verb = conn.recv(MAX_REQUEST_BYTES).decode("ascii", "replace").strip()
                answer = self._handler(verb) if verb in VERBS else {"error": "unknown request"}
                import json  # only when asked: json costs the idle agent ~0.3 MB RSS

                conn.sendall(json.dumps(answer).encode())
            except OSError as e:
                log.warning("control: %s", e.strerror or e)

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def ask(state_dir: str, verb: str, timeout_s: float = 5.0) -> dict[str, Any] | None:
    """The running agent's answer, or None when no agent listens."""
    path = socket_path(state_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as s:
        s.settimeout(timeout_s)
        try:
            s.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        s.sendall(verb.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_ANSWER_BYTES:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    import json

    answer = json.loads(b"".join(chunks))
    return answer if isinstance(answer, dict) else None
