"""The server's one TOML file -> frozen, validated settings (DESIGN.md "Server").

Same rules as the agent's config: an unknown key, a wrong type or a value out of range is
refused with one line naming the key. Sections a command does not need may be absent (a
`devices` query needs no broker); the command that needs one asks for it and gets one line
if it is missing. This module imports nothing from the agent side.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PATH = "/etc/zte_uxip/server.toml"
PLAINTEXT_PORTS = {1883, 80}


class ServerConfigError(ValueError):
    """The message is the one line the operator sees."""


@dataclass(frozen=True)
class BrokerSection:
    host: str
    ca_file: str
    cert_file: str
    key_file: str
    port: int = 8883
    group: str = "uxip-ingest"
    keepalive_s: int = 60
    session_expiry_s: int = 86400  # how long the broker keeps an ingest worker's queue while it is away

    def check(self, where: str) -> None:
        if not self.host:
            raise ServerConfigError(f"{where}.host: must not be empty")
        if self.port in PLAINTEXT_PORTS or not 1 <= self.port <= 65535:
            raise ServerConfigError(f"{where}.port: {self.port} is not a TLS port (plaintext MQTT is not supported)")
        if not self.group or any(c in self.group for c in "/+#$ "):
            raise ServerConfigError(f"{where}.group: must be a non-empty name without / + # $ or spaces")
        if not 10 <= self.keepalive_s <= 3600:
            raise ServerConfigError(f"{where}.keepalive_s: must be 10..3600")
        if not 0 <= self.session_expiry_s <= 2**32 - 1:
            raise ServerConfigError(f"{where}.session_expiry_s: must be 0..4294967295")

    def check_files(self) -> None:
        """Called by the commands that connect: TLS material must be there and readable."""
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if not os.path.isfile(path) or not os.access(path, os.R_OK):
                raise ServerConfigError(f"broker.{name}: {path} is missing or unreadable")


@dataclass(frozen=True)
class StoreSection:
    url: str = "sqlite:////var/lib/zte_uxip/server.sqlite3"

    def check(self, where: str) -> None:
        database(self.url, where)  # raises on a URL we cannot use


@dataclass(frozen=True)
class RetentionSection:
    days: int = 365
    audit_days: int = 730
    sweep_interval_s: int = 86400

    def check(self, where: str) -> None:
        if not 1 <= self.days <= 365:
            raise ServerConfigError(f"{where}.days: must be 1..365 (the notice promises at most 12 months)")
        if not 1 <= self.audit_days <= 3650:
            raise ServerConfigError(f"{where}.audit_days: must be 1..3650")
        if not 60 <= self.sweep_interval_s <= 86400:
            raise ServerConfigError(f"{where}.sweep_interval_s: must be 60..86400")


@dataclass(frozen=True)
class ConsoleSection:
    listen: str = "127.0.0.1:8080"
    secret_key_file: str = "/var/lib/zte_uxip/console.secret"  # noqa: S105 (a path, not a secret)
    allowed_hosts: tuple[str, ...] = ()  # host names the console answers to, besides the listen address
    workers: int = 2
    offline_after_s: int = 900  # a device silent this long while opted in counts as offline

    def check(self, where: str) -> None:
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ServerConfigError(f"{where}.listen: {self.listen!r} is not HOST:PORT")
        if not 1 <= self.workers <= 64:
            raise ServerConfigError(f"{where}.workers: must be 1..64")
        if not 60 <= self.offline_after_s <= 30 * 86400:
            raise ServerConfigError(f"{where}.offline_after_s: must be 60..2592000")


@dataclass(frozen=True)
class CommandsSection:
    signing_key_file: str = "/etc/zte_uxip/command.key"
    expiry_s: int = 300

    def check(self, where: str) -> None:
        if not 10 <= self.expiry_s <= 3600:
            raise ServerConfigError(f"{where}.expiry_s: must be 10..3600")


@dataclass(frozen=True)
class ServerConfig:
    region: str = "eu"
    broker: BrokerSection | None = None
    store: StoreSection = field(default_factory=StoreSection)
    retention: RetentionSection = field(default_factory=RetentionSection)
    console: ConsoleSection = field(default_factory=ConsoleSection)
    commands: CommandsSection = field(default_factory=CommandsSection)
    path: str = ""  # where it was read from (not a key)

    def need_broker(self) -> BrokerSection:
        if self.broker is None:
            raise ServerConfigError(f"{self.path or 'config'}: [broker] is required for this command")
        self.broker.check_files()
        return self.broker


_SECTIONS: dict[str, type] = {
    "broker": BrokerSection,
    "store": StoreSection,
    "retention": RetentionSection,
    "console": ConsoleSection,
    "commands": CommandsSection,
}


def _build(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ServerConfigError(f"{where}: must be a table")
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        f = known.get(key)
        if f is None:
            raise ServerConfigError(f"{where}.{key}: unknown key")
        tp = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        if tp.startswith("tuple"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ServerConfigError(f"{where}.{key}: must be a list of strings")
            value = tuple(value)
        elif tp == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ServerConfigError(f"{where}.{key}: must be an integer")
        elif tp == "str":
            if not isinstance(value, str):
                raise ServerConfigError(f"{where}.{key}: must be a string")
        kwargs[key] = value
    missing = [
        f.name for f in fields(cls)
        if f.name not in kwargs and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise ServerConfigError(f"{where}.{missing[0]}: required key is missing")
    obj = cls(**kwargs)
    obj.check(where)
    return obj


def from_dict(table: dict[str, Any], path: str = "") -> ServerConfig:
    kwargs: dict[str, Any] = {"path": path}
    for key, value in table.items():
        if key == "region":
            if not isinstance(value, str) or not value or len(value) > 32:
                raise ServerConfigError("region: must be a short non-empty string")
            kwargs["region"] = value
        elif key in _SECTIONS:
            kwargs[key] = _build(_SECTIONS[key], value, key)
        else:
            raise ServerConfigError(f"{key}: unknown key")
    return ServerConfig(**kwargs)


def load(path: str | os.PathLike[str] | None = None) -> ServerConfig:
    p = Path(path or DEFAULT_PATH)
    try:
        with open(p, "rb") as fh:
            table = tomllib.load(fh)
    except FileNotFoundError:
        raise ServerConfigError(f"{p}: no such config file (give one with --config)") from None
    except OSError as e:
        raise ServerConfigError(f"{p}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ServerConfigError(f"{p}: not valid TOML: {e}") from None
    return from_dict(table, str(p))


def database(url: str, where: str = "store") -> dict[str, Any]:
    """``sqlite:////abs/path`` or ``postgresql://user:pass@host:port/db`` -> Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:////var/lib/x.sqlite3 -> /var/lib/x.sqlite3; sqlite:///x.sqlite3 -> x.sqlite3 (relative)
        name = unquote(url[len("sqlite://"):])
        if name.startswith("//"):
            name = name[1:]
        elif name.startswith("/"):
            name = name[1:]
        if not name:
            raise ServerConfigError(f"{where}.url: sqlite URL names no file")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # WAL lets the console read while ingest writes; IMMEDIATE avoids lock upgrades mid-transaction.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.path.strip("/"):
            raise ServerConfigError(f"{where}.url: postgresql URL names no database")
        query = parse_qs(parts.query)
        unknown = set(query) - {"host"}
        if unknown:
            raise ServerConfigError(f"{where}.url: unsupported parameter {sorted(unknown)[0]!r} (only host=)")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            # ?host=/run/postgresql names a unix-socket directory, as libpq does
            "HOST": query["host"][0] if "host" in query else unquote(parts.hostname or ""),
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 0,
        }
    raise ServerConfigError(f"{where}.url: {parts.scheme or url} is not supported (sqlite:// or postgresql://)")
