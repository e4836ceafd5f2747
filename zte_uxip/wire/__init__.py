"""Wire format: the field registry, the CBOR codec and the MQTT topics.

Imports nothing else from the package, so the server (and third-party tools) can use it alone.
"""

from .codec import DecodeError, EncodeError, decode, encode_batch, encode_snapshot, encode_status
from .schema import SCHEMA_VERSION, Field, Kind, MessageKind, Privacy

__all__ = [
    "SCHEMA_VERSION",
    "DecodeError",
    "EncodeError",
    "Field",
    "Kind",
    "MessageKind",
    "Privacy",
    "decode",
    "encode_batch",
    "encode_snapshot",
    "encode_status",
]
