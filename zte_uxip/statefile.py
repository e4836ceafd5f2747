"""Small JSON state files: written whole to a temporary name, synced, then renamed, so a power
cut leaves the old file or the new one, never half of one. Callers choose the directory: the
RAM state dir for anything written often, the flash dir only on shutdown or once a day."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from .atomicfile import write_atomic

log = logging.getLogger(__name__)
MAX_STATE_BYTES = 64 * 1024


def read_json(path: str) -> dict[str, Any] | None:
    """The file's object, or None if missing; a corrupt or foreign file is logged and ignored."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning("state %s: %s", path, e.strerror)
        return None
    try:
        if len(data) > MAX_STATE_BYTES:
            raise ValueError("too large")
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        log.warning("state %s: ignored, not valid JSON (%s)", path, str(e).splitlines()[0][:80])
        return None
    if not isinstance(obj, dict):
        log.warning("state %s: ignored, not a JSON object", path)
        return None
    return obj


def write_json(path: str, obj: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_atomic(path, json.dumps(obj, separators=(",", ":"), sort_keys=True).encode(), mode=0o600)
