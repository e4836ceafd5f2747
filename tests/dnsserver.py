"""A tiny authoritative DNS responder on 127.0.0.1 for the `dns` verb's tests (this machine has
no outside DNS): A records from a dict, NXDOMAIN for other names, empty answers for other types."""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading


class DnsServer:
    def __init__(self, records: dict[str, str]) -> None:
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries: list[str] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def _answer(self, q: bytes) -> bytes | None:
        if len(q) < 12:
            return None
        qid, _flags, qd = struct.unpack_from("!HHH", q)
        labels, i = [], 12
        while i < len(q) and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        qend = i + 5
        if qd != 1 or qend > len(q):
            return None
        qtype = struct.unpack_from("!H", q, i + 1)[0]
        name = ".".join(labels).lower()
        self.queries.append(name)
        question = q[12:qend]
        addr = self.records.get(name)
        if addr is None:
            return struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
        if qtype != 1:
            return struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question  # no data
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + ipaddress.IPv4Address(addr).packed
        return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + rr

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()
