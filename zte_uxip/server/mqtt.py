"""What every server-side MQTT client shares: the mutual-TLS context, and CBOR maps as JSON.

One place builds the TLS context (TLS >= 1.2, the CA, the host-name check, the server's client
certificate), so ingest, diag, the console's command button and watch cannot drift apart.
"""

from __future__ import annotations

import ssl
from typing import Any

from .conf import ServerConfigError


def tls_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
    """A client context that verifies the broker's chain and host name and presents our identity.
    Bad files: ServerConfigError with one line."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_verify_locations(cafile=ca_file)
        ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as e:
        raise ServerConfigError(f"broker TLS files: {' '.join(str(e).split())}") from None
    return ctx


def jsonable(obj: Any) -> Any:
    """Decoded CBOR (bytes, int keys, tuples) -> what json.dumps takes; bytes as hex."""
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj
