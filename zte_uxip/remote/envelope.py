"""COSE_Sign1 (RFC 9052) for remote commands, with cbor2 alone: no COSE library on the device.

A command is ``18([protected, unprotected, payload, signature])`` with ``protected`` the
encoding of ``{1: -8}`` (EdDSA) and the signature over
``["Signature1", protected, h'', payload]``. PyNaCl (libsodium) checks it; it is imported on
the first command, so a device that never gets one does not pay for it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, NamedTuple

import cbor2

from ..errors import ConfigError
from ..wire.codec import DecodeError, loads_limited

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
ALG_EDDSA = -8
MAX_ENVELOPE_BYTES = 8 * 1024  # a real command is ~200 B; anything bigger is refused unparsed
ID_BYTES = 16
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


class Refused(Exception):
    """The command is not executed; ``reason`` goes into the answer and the log."""

    def __init__(self, reason: str, cmd_id: bytes | None = None) -> None:
        super().__init__(reason)
        self.reason, self.cmd_id = reason, cmd_id


class Command(NamedTuple):
    id: bytes
    device_id: str
    verb: str
    args: dict[str, Any]
    issued_ts: int
    expires_ts: int


def load_verify_key(path: str) -> bytes:
    """``[commands] verify_key_file``: one line, base64 of the raw 32-byte Ed25519 public key."""
    try:
        with open(path, "rb") as fh:
            text = fh.read(1024).strip()
        raw = base64.b64decode(text, validate=True)
    except OSError as e:
        raise ConfigError(f"commands.verify_key_file: {path}: {e.strerror or e}") from None
    except (binascii.Error, ValueError):
        raise ConfigError(f"commands.verify_key_file: {path}: not base64") from None
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ConfigError(f"commands.verify_key_file: {path}: not a 32-byte Ed25519 public key")
    return raw


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """What the signature covers (RFC 9052 section 4.4), external_aad empty."""
    return bytes(cbor2.dumps(["Signature1", protected, b"", payload]))


def _split(data: bytes) -> tuple[bytes, bytes, bytes]:
    """-> (protected, payload, signature), or Refused for anything that is not a COSE_Sign1."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise Refused(f"message of {len(data)} bytes exceeds the {MAX_ENVELOPE_BYTES}-byte limit")
    try:
        obj = loads_limited(data)
    except DecodeError as e:
        raise Refused(f"not CBOR: {e}") from None
    if not isinstance(obj, cbor2.CBORTag) or obj.tag != COSE_SIGN1_TAG:
        raise Refused("not a tagged COSE_Sign1 message (unsigned?)")
    v = obj.value
    if not (isinstance(v, list | tuple) and len(v) == 4):  # cbor2 gives a tuple inside a tag
        raise Refused("COSE_Sign1 is not a 4-element array")
    protected, unprotected, payload, signature = v
    if not (isinstance(protected, bytes) and isinstance(unprotected, Mapping) and isinstance(payload, bytes)
            and isinstance(signature, bytes)):
        raise Refused("COSE_Sign1 elements have the wrong types (detached payload?)")
    return protected, payload, signature


def _check_protected(protected: bytes) -> None:
    try:
        header = loads_limited(protected) if protected else {}
    except DecodeError:
        raise Refused("protected header is not CBOR") from None
    if not isinstance(header, Mapping) or header.get(HEADER_ALG) != ALG_EDDSA:
        raise Refused("unsupported algorithm (only EdDSA, -8, in the protected header)")
    if 2 in header:  # crit: we understand no critical header
        raise Refused("critical header parameters are not supported")


def _payload_map(payload: bytes) -> dict[str, Any] | None:
    try:
        m = loads_limited(payload)
    except DecodeError:
        return None
    return dict(m) if isinstance(m, Mapping) else None


def peek_id(data: bytes) -> bytes | None:
    """The id of a message that will be refused, if it has one: the answer carries it so that the
    sender can match it. Unverified, used for nothing else."""
    try:
        _protected, payload, _sig = _split(data)
    except Refused:
        return None
    m = _payload_map(payload)
    cid = m.get("id") if m else None
    return cid if isinstance(cid, bytes) and len(cid) == ID_BYTES else None


def _verify(verify_key: bytes, protected: bytes, payload: bytes, signature: bytes) -> None:
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    if len(signature) != SIGNATURE_BYTES:
        raise Refused("bad signature")
    try:
        VerifyKey(verify_key).verify(sig_structure(protected, payload), signature)
    except BadSignatureError:
        raise Refused("bad signature") from None


def open_envelope(data: bytes, verify_key: bytes) -> Command:
    """Parse, check the algorithm, verify, then read the payload. Refused at the first problem."""
    protected, payload, signature = _split(data)
    _check_protected(protected)
    _verify(verify_key, protected, payload, signature)
    m = _payload_map(payload)
    if m is None:
        raise Refused("payload is not a CBOR map")
    cid = m.get("id")
    if not (isinstance(cid, bytes) and len(cid) == ID_BYTES):
        raise Refused(f"id must be {ID_BYTES} bytes")
    unknown = set(m) - {"id", "device_id", "verb", "args", "issued_ts", "expires_ts"}
    if unknown:
        raise Refused("unknown field in the command payload", cid)
    device_id, verb, args = m.get("device_id"), m.get("verb"), m.get("args", {})
    args = dict(args) if isinstance(args, Mapping) else args
    issued, expires = m.get("issued_ts"), m.get("expires_ts")
    if not isinstance(device_id, str) or not isinstance(verb, str) or not isinstance(args, dict):
        raise Refused("device_id, verb and args must be text, text and a map", cid)
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in (issued, expires)):
        raise Refused("issued_ts and expires_ts must be integers", cid)
    assert isinstance(issued, int) and isinstance(expires, int)
    return Command(cid, device_id, verb, args, issued, expires)
