"""The few server-TOML settings `keygen`/`diag` need: ``region``, ``[broker]`` (the server's own
client identity) and ``[commands] signing_key_file``. Other sections are left to the server's
settings loader; a missing or mistyped key here is one line naming it."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any


class DiagConfigError(ValueError):
    pass


@dataclass(frozen=True)
class DiagConfig:
    host: str
    port: int
    ca_file: str
    cert_file: str
    key_file: str
    signing_key_file: str
    region: str = ""


def _get(table: dict[str, Any], section: str, key: str, tp: type, default: Any = None) -> Any:
    sec = table.get(section, {}) if section else table
    if not isinstance(sec, dict):
        raise DiagConfigError(f"{section}: must be a table")
    where = f"{section}.{key}" if section else key
    if key not in sec:
        if default is None:
            raise DiagConfigError(f"{where}: required")
        return default
    value = sec[key]
    if not isinstance(value, tp) or isinstance(value, bool):
        raise DiagConfigError(f"{where}: expected {tp.__name__}")
    return value


def load(path: str) -> DiagConfig:
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except OSError as e:
        raise DiagConfigError(f"{path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise DiagConfigError(f"{path}: not valid TOML: {e}") from None
    port = _get(table, "broker", "port", int, 8883)
    if port in (1883, 80) or not 1 <= port <= 65535:
        raise DiagConfigError(f"broker.port: {port} is not a TLS port (plaintext MQTT is not supported)")
    return DiagConfig(
        host=_get(table, "broker", "host", str), port=port, ca_file=_get(table, "broker", "ca_file", str),
        cert_file=_get(table, "broker", "cert_file", str), key_file=_get(table, "broker", "key_file", str),
        signing_key_file=_get(table, "commands", "signing_key_file", str), region=_get(table, "", "region", str, ""),
    )
