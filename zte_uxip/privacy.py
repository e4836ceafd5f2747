"""The privacy filter: one function, applied to every snapshot before it is encoded.

The class lives on the schema field (wire/schema.py); this module only enforces it:
identifier fields become a keyed hash (HMAC-SHA256 under a per-device secret, truncated), or
are dropped when no key is available; location fields are dropped unless the owner's consent
covers location; fields the schema does not know are dropped and named in the log, so a
collector can never widen what leaves the device by accident.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from typing import Any, NamedTuple

from .atomicfile import write_atomic
from .wire.schema import PSEUDONYM_BYTES, SNAPSHOT, Field, Kind, Privacy

log = logging.getLogger(__name__)

SECRET_BYTES = 32


class Policy(NamedTuple):
    """What the owner's consent allows for this snapshot."""

    location: bool
    key: bytes | None  # pseudonym key; None drops identifiers instead


def pseudonym(key: bytes, value: str) -> bytes:
    """Keyed hash of a normalised identifier: stable per device, not reversible without the key."""
    norm = value.strip().lower().encode("utf-8", "surrogatepass")
    return hmac.new(key, norm, hashlib.sha256).digest()[:PSEUDONYM_BYTES]


def device_id_from_mac(key: bytes, base_mac: str) -> str:
    """The default device id: a pseudonym of the base MAC, so the id in topics is no identifier."""
    return "zx-" + hmac.new(key, b"device-id:" + base_mac.strip().lower().encode(), hashlib.sha256).hexdigest()[:20]


def load_or_create_secret(path: str, create: bool) -> bytes | None:
    """The per-device secret (0600). Created on first use by the agent; ``sample`` never writes."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(SECRET_BYTES + 1)
        if len(data) == SECRET_BYTES:
            return data
        log.warning("privacy.secret_file %s: wrong length, %s", path, "replacing" if create else "ignored")
    except FileNotFoundError:
        pass
    except OSError as e:
        log.warning("privacy.secret_file %s: %s", path, e.strerror)
        return None
    if not create:
        return None
    key = secrets.token_bytes(SECRET_BYTES)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_atomic(path, key, mode=0o600)
    return key


_BY_NAME: dict[int, dict[str, Field]] = {}  # id of a registry tuple (module constants) -> its index


def _by_name(fields: tuple[Field, ...]) -> dict[str, Field]:
    """The fields of one map by name, built once: the filter runs on every sample."""
    index = _BY_NAME.get(id(fields))
    if index is None:
        index = _BY_NAME[id(fields)] = {f.name: f for f in fields}
    return index


def _filter(fields: tuple[Field, ...], obj: dict[str, Any], policy: Policy, path: str) -> dict[str, Any]:
    by_name = _by_name(fields)
    out: dict[str, Any] = {}
    for name, value in obj.items():
        f = by_name.get(name)
        if f is None:
            log.warning("privacy: dropped %s%s (not in the schema)", path, name)
            continue
        if value is None:
            continue
        if f.privacy is Privacy.LOCATION and not policy.location:
            continue
        if f.privacy is Privacy.IDENTIFIER:
            if policy.key is None or not isinstance(value, str) or not value:
                continue
            out[name] = pseudonym(policy.key, value)
        elif f.kind is Kind.MAP and isinstance(value, dict):
            out[name] = _filter(f.children, value, policy, f"{path}{name}.")
        elif f.kind is Kind.LIST and isinstance(value, list):
            out[name] = [_filter(f.children, v, policy, f"{path}{name}[].") for v in value if isinstance(v, dict)]
        else:
            out[name] = value
    return out


def apply(snapshot: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Return a copy of the snapshot that may leave the device under ``policy``."""
    return _filter(SNAPSHOT, snapshot, policy, "")
