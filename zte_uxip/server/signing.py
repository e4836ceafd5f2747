"""Remote commands, the server's half: Ed25519 key files and COSE_Sign1 signing (RFC 9052).

Its own small COSE code, not the device's (the server imports only ``zte_uxip.wire`` from the
agent side); the tests check both against pycose, an independent implementation.
Key files are one line each, base64 of the raw 32-byte seed / public key (as WireGuard and
minisign keep keys); the private one is 0600 and refused if anyone else may read it.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from typing import Any

import cbor2

COSE_SIGN1_TAG = 18
PROTECTED_EDDSA = bytes(cbor2.dumps({1: -8}))
ID_BYTES = 16


class KeyError_(ValueError):
    """A key file that cannot be used; the message is the one line the user sees."""


def _write(path: str, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    os.chmod(path, mode)


def keygen(prefix: str) -> tuple[str, str]:
    """Write PREFIX.key (0600) and PREFIX.pub; never overwrites an existing key."""
    from nacl.signing import SigningKey

    key = SigningKey.generate()
    key_path, pub_path = f"{prefix}.key", f"{prefix}.pub"
    for p in (key_path, pub_path):
        if os.path.exists(p):
            raise KeyError_(f"{p} exists (a key is never overwritten; remove it first)")
    _write(key_path, base64.b64encode(bytes(key)).decode(), 0o600)
    _write(pub_path, base64.b64encode(bytes(key.verify_key)).decode(), 0o644)
    return key_path, pub_path


def load_signing_key(path: str) -> Any:
    """-> nacl.signing.SigningKey from a PREFIX.key file."""
    from nacl.signing import SigningKey

    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            raw = base64.b64decode(fh.read(1024).strip(), validate=True)
    except OSError as e:
        raise KeyError_(f"commands.signing_key_file: {path}: {e.strerror or e}") from None
    except (binascii.Error, ValueError):
        raise KeyError_(f"commands.signing_key_file: {path}: not base64") from None
    if st.st_mode & 0o077:
        raise KeyError_(f"commands.signing_key_file: {path}: readable by others (mode {st.st_mode & 0o777:o}); "
                        "chmod 600")
    if len(raw) != 32:
        raise KeyError_(f"commands.signing_key_file: {path}: not a 32-byte Ed25519 seed")
    return SigningKey(raw)


def sign1(key: Any, payload: bytes) -> bytes:
    """A tagged COSE_Sign1 with protected {1: -8} and an empty unprotected map."""
    to_sign = cbor2.dumps(["Signature1", PROTECTED_EDDSA, b"", payload])
    signature = key.sign(to_sign).signature
    return bytes(cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [PROTECTED_EDDSA, {}, payload, signature])))


def command_payload(device_id: str, verb: str, args: dict[str, Any], issued_ts: int, expires_ts: int,
                    cmd_id: bytes | None = None) -> tuple[bytes, bytes]:
    """-> (id, payload): the CBOR map DESIGN.md "Remote commands" names."""
    cid = cmd_id or secrets.token_bytes(ID_BYTES)
    body = {"id": cid, "device_id": device_id, "verb": verb, "args": args,
            "issued_ts": issued_ts, "expires_ts": expires_ts}
    return cid, bytes(cbor2.dumps(body))


def sign_command(key: Any, device_id: str, verb: str, args: dict[str, Any], issued_ts: int,
                 expires_ts: int) -> tuple[bytes, bytes]:
    """-> (id, the message to publish on uxip/v1/{device_id}/cmd)."""
    cid, payload = command_payload(device_id, verb, args, issued_ts, expires_ts)
    return cid, sign1(key, payload)
