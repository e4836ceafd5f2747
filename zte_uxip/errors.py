"""The exception tree. Each message is the one line a user sees: say what and where, briefly.

    UxipError
     ├── ConfigError      bad or missing configuration; the agent refuses to start
     ├── SourceError      a kernel/modem source failed or answered garbage; that sample lacks it
     ├── ConsentError     the toggle file cannot be written (CLI enable/disable)
     ├── SpoolError       the spool cannot store or load a record
     └── TransportError   TLS/MQTT set-up failed
    wire.DecodeError      (a ValueError) input is not a valid message of the schema
"""

from __future__ import annotations

from .wire.codec import DecodeError, EncodeError


class UxipError(Exception):
    """Base of the agent's own errors."""


class ConfigError(UxipError):
    pass


class SourceError(UxipError):
    pass


class ConsentError(UxipError):
    pass


class SpoolError(UxipError):
    pass


class TransportError(UxipError):
    pass


__all__ = [
    "ConfigError",
    "ConsentError",
    "DecodeError",
    "EncodeError",
    "SourceError",
    "SpoolError",
    "TransportError",
    "UxipError",
]
