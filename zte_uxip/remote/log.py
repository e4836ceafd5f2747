"""The owner's view of remote commands: the last 100, run or refused, in the RAM state dir.

`zte-uxip status` shows the last ones, `zte-uxip export` lists them all under ``commands[]``
(``id`` in hex, ``verb``, ``status``, ``ts``, and ``reason`` or ``args``); the opt-out erasure
deletes the file with everything else. Readable without a running agent.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import cbor2

from ..atomicfile import write_atomic
from ..wire.codec import DecodeError, loads_limited

log = logging.getLogger(__name__)

FILE_NAME = "commands.cbor"
MAX_ENTRIES = 100
STATUS_SHOWS = 5


def log_path(state_dir: str) -> str:
    return os.path.join(state_dir, FILE_NAME)


def read_entries(state_dir: str) -> list[dict[str, Any]]:
    """Oldest first; a missing or damaged file reads as empty (and is replaced at the next command)."""
    try:
        with open(log_path(state_dir), "rb") as fh:
            raw = loads_limited(fh.read(256 * 1024))
    except FileNotFoundError:
        return []
    except (OSError, DecodeError) as e:
        log.warning("command log unreadable: %s", e)
        return []
    if not isinstance(raw, list):
        return []
    return [e for e in raw if isinstance(e, dict)][-MAX_ENTRIES:]


def clear(state_dir: str) -> None:
    try:
        os.unlink(log_path(state_dir))
    except FileNotFoundError:
        pass


class CommandLog:
    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.entries = read_entries(state_dir)

    def add(self, *, cmd_id: bytes | None, verb: str, status: str, ts: int, reason: str | None = None,
            args: dict[str, Any] | None = None) -> None:
        entry: dict[str, Any] = {"id": cmd_id.hex() if cmd_id else None, "verb": verb, "status": status, "ts": ts}
        if reason:
            entry["reason"] = reason
        if args:
            entry["args"] = args
        self.entries = [*self.entries, entry][-MAX_ENTRIES:]
        try:
            write_atomic(log_path(self.state_dir), cbor2.dumps(self.entries), sync=False)
        except OSError as e:
            log.warning("command log: %s", e.strerror or e)

    def clear(self) -> None:
        self.entries = []
        clear(self.state_dir)
