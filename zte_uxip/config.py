"""One TOML file -> frozen, validated settings.

Each section is a NamedTuple (immutable, and cheaper to import than dataclasses, which pulls in
``inspect``: ~1.1 MiB RSS on the agent's run path); the loader checks every key against its
fields and their annotated types, so an unknown key, a wrong type or a missing required key is refused
at start with one line naming the key. Sections that need more than types (TLS files, ports)
check themselves in ``_check``. There is no "insecure" switch, by design.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import types
import typing
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ConfigError

PLAINTEXT_PORTS = {1883, 80}
MODEM_SPEC_HELP = "auto, none, at:/dev/ttyX[@baud], mm, mm:N, qmi:/dev/cdc-wdmN, goform:http://HOST[:PORT]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_GOFORM_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]{{2,45}}\]")


def check_private_file(path: str, where: str) -> None:
    """A secret the agent reads (a password): an absolute path to a regular file that neither
    group nor others may read or write (0600 or stricter), as OpenSSH insists for its keys."""
    if not path.startswith("/") or "\0" in path:
        raise ConfigError(f"{where}: {path!r} must be an absolute path")
    try:
        st = os.stat(path)
    except OSError as e:
        raise ConfigError(f"{where}: {path}: {e.strerror or 'cannot stat'}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{where}: {path} is not a regular file")
    if st.st_mode & 0o077:
        raise ConfigError(f"{where}: {path} is accessible by group or others "
                          f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{where}: {path} is not readable")


class BrokerConfig(NamedTuple):
    host: str
    ca_file: str
    cert_file: str
    key_file: str
    port: int = 8883
    keepalive_s: int = 300
    reconnect_max_s: int = 300  # full-jitter backoff: uniform(0, min(this, 2**attempt)) s
    daily_budget_bytes: int = 2_000_000  # wire bytes (TLS, keepalives included) per 24 h

    def _check(self, where: str) -> None:
        if not self.host:
            raise ConfigError(f"{where}.host: must not be empty")
        if self.port in PLAINTEXT_PORTS or not 1 <= self.port <= 65535:
            raise ConfigError(f"{where}.port: {self.port} is not a TLS port (plaintext MQTT is not supported)")
        if not 10 <= self.keepalive_s <= 3600:
            raise ConfigError(f"{where}.keepalive_s: must be 10..3600")
        if not 1 <= self.reconnect_max_s <= 3600:
            raise ConfigError(f"{where}.reconnect_max_s: must be 1..3600")
        if not 10_000 <= self.daily_budget_bytes <= 10**10:
            raise ConfigError(f"{where}.daily_budget_bytes: must be 10000..10000000000")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if not os.access(path, os.R_OK) or not os.path.isfile(path):
                raise ConfigError(f"{where}.{name}: {path} is missing or unreadable")


class ConsentConfig(NamedTuple):
    toggle_file: str = "/etc/zte_uxip/enabled"


class IntervalsConfig(NamedTuple):
    sample_s: int = 10
    report_s: int = 60  # one summarised snapshot per report
    # Reports per batch (one MQTT message): each message costs ~60 B of TLS and MQTT framing
    # plus a full first snapshot, the rest travel as differences. A batch with events (a WAN
    # outage's field data) leaves at its report, without waiting for the others.
    reports_per_batch: int = 5

    def _check(self, where: str) -> None:
        if not 1 <= self.sample_s <= 3600:
            raise ConfigError(f"{where}.sample_s: must be 1..3600")
        if not self.sample_s <= self.report_s <= 86400:
            raise ConfigError(f"{where}.report_s: must be sample_s..86400")
        if not 1 <= self.reports_per_batch <= 60:
            raise ConfigError(f"{where}.reports_per_batch: must be 1..60")


class SpoolConfig(NamedTuple):
    dir: str = "/etc/zte_uxip/spool"  # flash: written only on shutdown or a long outage
    max_bytes: int = 256 * 1024
    persist_after_s: int = 1800  # an outage this long moves RAM records to flash

    def _check(self, where: str) -> None:
        if not 4096 <= self.max_bytes <= 64 * 1024 * 1024:
            raise ConfigError(f"{where}.max_bytes: must be 4096..67108864")
        if self.persist_after_s < 0:
            raise ConfigError(f"{where}.persist_after_s: must be >= 0")


class StateConfig(NamedTuple):
    dir: str = "/tmp/zte_uxip"  # RAM (tmpfs)
    flash_dir: str = "/etc/zte_uxip"  # durable: boot marker, cycle usage; written on shutdown and daily


class ModemConfig(NamedTuple):
    backend: str = "auto"
    # goform: the WebUI password, one line; 0600 (refused if group or others may read it)
    password_file: str = ""

    def _check(self, where: str) -> None:
        try:
            parse_modem_spec(self.backend)
        except ValueError as e:
            raise ConfigError(f"{where}.backend: {e}") from None
        if self.password_file:
            check_private_file(self.password_file, f"{where}.password_file")


class LinksConfig(NamedTuple):
    exclude: tuple[str, ...] = ()


class PrivacyConfig(NamedTuple):
    secret_file: str = "/etc/zte_uxip/secret"  # noqa: S105 - a path: per-device pseudonym key, 0600


class WifiConfig(NamedTuple):
    short_range_dbm: int = -75  # clients' median signal below this for a report interval: an event
    uci_file: str = "/etc/config/wireless"
    hostapd_conf: tuple[str, ...] = ("/var/run/hostapd-*.conf", "/etc/hostapd/hostapd.conf")
    kmsg_file: str = "/dev/kmsg"  # firmware restarts; "" to not read the kernel log

    def _check(self, where: str) -> None:
        if not -100 <= self.short_range_dbm <= 0:
            raise ConfigError(f"{where}.short_range_dbm: must be -100..0")
        for name, paths in (("uci_file", (self.uci_file,)), ("hostapd_conf", self.hostapd_conf),
                            ("kmsg_file", (self.kmsg_file,) if self.kmsg_file else ())):
            for path in paths:
                if not path.startswith("/") or "\0" in path or "/../" in path + "/":
                    raise ConfigError(f"{where}.{name}: {path!r} must be an absolute path without '..'")


class WanConfig(NamedTuple):
    iface: str = ""  # empty: the default route's interface
    cycle_start_day: int = 1  # billing cycle starts at local midnight on this day of the month
    limit_bytes: int = 0  # data_limit_exceeded once usage in a cycle passes this; 0 = no limit

    def _check(self, where: str) -> None:
        if not 1 <= self.cycle_start_day <= 28:
            raise ConfigError(f"{where}.cycle_start_day: must be 1..28")
        if self.limit_bytes < 0:
            raise ConfigError(f"{where}.limit_bytes: must be >= 0")
        if len(self.iface) > 15 or "/" in self.iface:
            raise ConfigError(f"{where}.iface: not an interface name")


class DeviceConfig(NamedTuple):
    """Overrides for device facts the firmware files get wrong, and the version floor."""

    manufacturer: str = ""
    model: str = ""
    hw_type: str = ""
    sw_version: str = ""
    min_sw_version: str = ""  # version_too_low when sw_version is below it


class PowerConfig(NamedTuple):
    long_charging_s: int = 86400  # on external power at 100 % longer than this: long_charging

    def _check(self, where: str) -> None:
        if self.long_charging_s < 60:
            raise ConfigError(f"{where}.long_charging_s: must be >= 60")


class CommandsConfig(NamedTuple):
    """Remote diagnostics: without a verification key the agent does not even subscribe."""

    verify_key_file: str = ""  # base64 Ed25519 public key (zte-uxip-server keygen's PREFIX.pub)

    def _check(self, where: str) -> None:
        path = self.verify_key_file
        if path and (not os.path.isfile(path) or not os.access(path, os.R_OK)):
            raise ConfigError(f"{where}.verify_key_file: {path} is missing or unreadable")


class Config(NamedTuple):
    broker: BrokerConfig
    device_id: str | None = None
    consent: ConsentConfig = ConsentConfig()
    intervals: IntervalsConfig = IntervalsConfig()
    spool: SpoolConfig = SpoolConfig()
    state: StateConfig = StateConfig()
    modem: ModemConfig = ModemConfig()
    links: LinksConfig = LinksConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    wifi: WifiConfig = WifiConfig()
    wan: WanConfig = WanConfig()
    device: DeviceConfig = DeviceConfig()
    power: PowerConfig = PowerConfig()
    commands: CommandsConfig = CommandsConfig()

    def _check(self, where: str) -> None:
        if self.device_id is not None:
            from .wire.topics import check_device_id

            try:
                check_device_id(self.device_id)
            except ValueError as e:
                raise ConfigError(f"device_id: {e}") from None


def parse_modem_spec(spec: str) -> tuple[str, str | None, int | None]:
    """SPEC -> (backend, device or index, baud). ValueError with the accepted forms otherwise."""
    if spec in ("auto", "none", "mm"):
        return spec, None, None
    kind, sep, rest = spec.partition(":")
    if sep and kind == "mm" and rest.isdigit():
        return "mm", rest, None
    if sep and kind == "at" and rest.startswith("/dev/"):
        dev, at, baud = rest.partition("@")
        if not at:
            return "at", dev, None
        if baud.isdigit() and 300 <= int(baud) <= 4_000_000:
            return "at", dev, int(baud)
    if sep and kind == "qmi" and rest.startswith("/dev/") and "@" not in rest:
        return "qmi", rest, None
    if sep and kind == "goform":
        base = goform_base_url(rest)
        if base is not None:
            return "goform", base, None
    raise ValueError(f"{spec!r} is not a modem SPEC ({MODEM_SPEC_HELP})")


def goform_base_url(url: str) -> str | None:
    """`http://HOST[:PORT][/]` -> `http://host[:port]`, else None. Plain http only (the WebUI's
    data service on the LAN); no user info, path, query or fragment, so nothing else can ride
    along in the SPEC."""
    if not url.startswith("http://"):
        return None
    hostport = url[7:].rstrip("/")
    host, colon, port = hostport.rpartition(":") if not hostport.endswith("]") else (hostport, "", "")
    if not colon:
        host, port = hostport, ""
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        return None
    if len(host) > 253 or not _GOFORM_HOST.fullmatch(host):
        return None
    return f"http://{host.lower()}" + (f":{int(port)}" if port else "")


def _type_ok(tp: Any, value: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(a, value) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if origin is tuple:
        (item, _ellipsis) = typing.get_args(tp)
        return isinstance(value, list) and all(_type_ok(item, v) for v in value)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, tp)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp, getattr(tp, "__name__", str(tp)))


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def _build(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    hints = typing.get_type_hints(cls)
    fields: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
    defaults: dict[str, Any] = cls._field_defaults  # type: ignore[attr-defined]
    for key in table:
        if key not in fields:
            raise ConfigError(f"{where + '.' if where else ''}{key}: unknown key")
    kwargs: dict[str, Any] = {}
    for name in fields:
        tp = hints[name]
        key_path = f"{where + '.' if where else ''}{name}"
        if name not in table:
            if name not in defaults:
                raise ConfigError(f"{key_path}: required")
            continue
        value = table[name]
        if _is_section(tp):
            kwargs[name] = _build(tp, value, key_path)
            continue
        if not _type_ok(tp, value):
            raise ConfigError(f"{key_path}: expected {_type_name(tp)}, got {type(value).__name__}")
        if typing.get_origin(tp) is tuple:
            value = tuple(value)
        if isinstance(value, float) and float in typing.get_args(tp) + (tp,):
            value = float(value)
        kwargs[name] = value
    obj = cls(**kwargs)
    check = getattr(obj, "_check", None)
    if check is not None:
        check(where)
    return obj


def from_dict(table: dict[str, Any]) -> Config:
    cfg: Config = _build(Config, table, "")
    return cfg


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate; any problem is a ConfigError whose message names the key."""
    loaded_before = set(sys.modules)
    try:
        return from_dict(_read_toml(Path(path)))
    finally:
        _forget_new_modules(loaded_before, ("tomllib",))


def _forget_new_modules(loaded_before: set[str], prefixes: tuple[str, ...]) -> None:
    """The TOML parser is needed once, at start: drop it from ``sys.modules`` so the
    long-running agent does not keep its code and tables (~0.25 MiB). Only modules this load
    imported are dropped; a later import simply loads them again."""
    for name in set(sys.modules) - loaded_before:
        if name.split(".")[0] in prefixes:
            del sys.modules[name]


def _read_toml(p: Path) -> dict[str, Any]:
    import tomllib

    try:
        with p.open("rb") as fh:
            table = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except PermissionError:
        raise ConfigError(f"{p}: config file not readable") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not valid UTF-8") from None
    return table
