"""The replay window: ids of the commands seen, each kept until its expiry (plus the allowed
clock skew) has passed, after which the expiry check alone refuses it. Kept in the RAM state dir
so an agent restart does not reopen the window; bounded, and full means refused, never forgotten
early."""

from __future__ import annotations

import logging
import os

import cbor2

from ..atomicfile import write_atomic
from ..wire.codec import DecodeError, loads_limited

log = logging.getLogger(__name__)

FILE_NAME = "commands_seen.cbor"
MAX_IDS = 1024  # with at most 10 verified commands a minute and 1 h of validity: 600 at most
SKEW_S = 300


class ReplayWindow:
    def __init__(self, state_dir: str) -> None:
        self.path = os.path.join(state_dir, FILE_NAME)
        self._seen: dict[bytes, int] = self._load()

    def _load(self) -> dict[bytes, int]:
        try:
            with open(self.path, "rb") as fh:
                raw = loads_limited(fh.read(MAX_IDS * 40 + 64))
        except FileNotFoundError:
            return {}
        except (OSError, DecodeError) as e:
            log.warning("replay window %s unreadable (%s): starting empty", self.path, e)
            return {}
        if not isinstance(raw, dict):
            return {}
        return {k: v for k, v in raw.items() if isinstance(k, bytes) and isinstance(v, int)}

    def __len__(self) -> int:
        return len(self._seen)

    def admit(self, cmd_id: bytes, expires_ts: int, now_ts: int) -> str | None:
        """Record the id; None if new, else why it is refused."""
        self._seen = {k: v for k, v in self._seen.items() if v + SKEW_S >= now_ts}
        if cmd_id in self._seen:
            return "replayed id"
        if len(self._seen) >= MAX_IDS:
            return "replay window full"
        self._seen[cmd_id] = expires_ts
        try:
            write_atomic(self.path, cbor2.dumps(self._seen), sync=False)
        except OSError as e:
            log.warning("replay window %s: %s", self.path, e.strerror or e)
        return None
