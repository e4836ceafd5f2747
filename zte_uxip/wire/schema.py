"""The field registry: every value that may cross the wire, with its integer key, its stable
JSON name (units in the name), its type and its privacy class.

The registry is the single source of truth for the codec, the privacy filter, the CDDL in
docs/ and the tests that guard privacy. A value without a field here cannot be encoded.
Keys are append-only: never renumber or reuse a key; retire a field by leaving its key unused.

This module imports nothing else from the package (the server imports only ``wire``).
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

SCHEMA_VERSION = 1


class Privacy(Enum):
    """Privacy class of a field. There is deliberately no ``content`` class: no field may hold
    SMS, contacts, voice, e-mail, URLs or DNS names, so the registry cannot even name one."""

    TECHNICAL = "technical"  # signal, counters, uptime, errors: sent when opted in
    IDENTIFIER = "identifier"  # IMEI, IMSI, MAC, SSID...: only as a keyed-hash pseudonym
    LOCATION = "location"  # cell ID, TAC: sent unless the owner withdrew `location`


class Kind(Enum):
    """Wire representation of a field."""

    UINT = "uint"
    INT = "int"
    FIXED = "fixed"  # a float carried as round(value * scale), an integer on the wire
    BOOL = "bool"
    STR = "str"
    PSEUDONYM = "pseudonym"  # PSEUDONYM_BYTES of keyed hash; hex in the JSON view
    MAP = "map"
    LIST = "list"  # a list of maps with `children`


class MessageKind(Enum):
    SNAPSHOT = 1
    BATCH = 2
    STATUS = 3


PSEUDONYM_BYTES = 8
MAX_STR_BYTES = 256
MAX_LIST_ITEMS = 256
MAX_MESSAGE_BYTES = 256 * 1024
MAX_DEPTH = 16

# Keys 0 and 1 of every top-level message.
KEY_SCHEMA = 0
KEY_KIND = 1

T = Privacy.TECHNICAL
I = Privacy.IDENTIFIER  # noqa: E741 - reads as the class letter used in FIELDS.md
L = Privacy.LOCATION


class Field(NamedTuple):
    key: int
    name: str
    kind: Kind
    privacy: Privacy
    children: tuple[Field, ...] = ()
    scale: int = 1  # FIXED only
    delta: bool = False  # a cumulative value: sent as a difference inside a batch
    unit: str = ""  # for docs; the name carries it too

    def child(self, name: str) -> Field:
        for f in self.children:
            if f.name == name:
                return f
        raise KeyError(name)


def _u(key: int, name: str, privacy: Privacy = T, *, delta: bool = False) -> Field:
    return Field(key, name, Kind.UINT, privacy, delta=delta)


def _i(key: int, name: str, privacy: Privacy = T) -> Field:
    return Field(key, name, Kind.INT, privacy)


def _fx(key: int, name: str, scale: int, privacy: Privacy = T) -> Field:
    return Field(key, name, Kind.FIXED, privacy, scale=scale)


def _b(key: int, name: str, privacy: Privacy = T) -> Field:
    return Field(key, name, Kind.BOOL, privacy)


def _s(key: int, name: str, privacy: Privacy = T) -> Field:
    return Field(key, name, Kind.STR, privacy)


def _p(key: int, name: str) -> Field:
    return Field(key, name, Kind.PSEUDONYM, Privacy.IDENTIFIER)


def _m(key: int, name: str, *children: Field) -> Field:
    return Field(key, name, Kind.MAP, T, children=children)


def _l(key: int, name: str, *children: Field) -> Field:
    return Field(key, name, Kind.LIST, T, children=children)


SYSTEM = _m(
    4, "system",
    _fx(1, "cpu_pct", 10),
    _fx(2, "mem_used_pct", 10),
    _fx(3, "load1", 100),
    _u(4, "mem_total_kib"),
    _u(5, "procs"),
)

LINK = _l(
    5, "links",
    _s(1, "name"),
    _s(2, "oper"),
    _u(3, "rx_bytes_total", delta=True),
    _u(4, "tx_bytes_total", delta=True),
    _u(5, "rx_packets_total", delta=True),
    _u(6, "tx_packets_total", delta=True),
    _u(7, "rx_errors_total", delta=True),
    _u(8, "tx_errors_total", delta=True),
    _u(9, "rx_dropped_total", delta=True),
    _u(10, "tx_dropped_total", delta=True),
    _u(11, "carrier_changes_total", delta=True),
    _u(12, "rx_bps"),
    _u(13, "tx_bps"),
    _u(14, "rx_bps_peak"),
    _u(15, "tx_bps_peak"),
    _u(16, "mtu"),
    _s(17, "kind"),
    _b(18, "admin_up"),
    _b(19, "carrier"),
)

LAST_DISCONNECT = _m(
    5, "last_disconnect",
    _u(1, "ts"),
    _u(2, "duration_s"),
    _s(3, "cause"),
    _b(4, "ongoing"),
)

WAN = _m(
    6, "wan",
    _s(1, "iface"),
    _b(2, "up"),
    _u(3, "disconnects_total", delta=True),
    _u(4, "disconnects_today"),
    LAST_DISCONNECT,
    _s(6, "kind"),
    _u(7, "usage_cycle_bytes", delta=True),
    _u(8, "usage_limit_bytes"),
    _u(9, "usage_cycle_start_ts"),
    _u(10, "connected_s"),
    _p(11, "ipv4"),
    _p(12, "ipv6"),
    _u(13, "rx_bps_peak"),
    _u(14, "tx_bps_peak"),
)

RADIO = _l(
    4, "radios",
    _s(1, "iface"),
    _s(2, "band"),
    _u(3, "freq_mhz"),
    _u(4, "channel"),
    _u(5, "clients"),
    _fx(6, "txpower_dbm", 100),
    _u(7, "width_mhz"),
    _s(8, "mode"),
    _p(9, "ssid"),
    _i(10, "signal_dbm_min"),
    _i(11, "signal_dbm_median"),
    _i(12, "signal_dbm_max"),
    _u(13, "tx_bitrate_kbps_min"),
    _u(14, "tx_bitrate_kbps_median"),
    _u(15, "tx_bitrate_kbps_max"),
    _u(16, "rx_bitrate_kbps_min"),
    _u(17, "rx_bitrate_kbps_median"),
    _u(18, "rx_bitrate_kbps_max"),
    _u(19, "inactive_ms_min"),
    _u(20, "inactive_ms_median"),
    _u(21, "inactive_ms_max"),
    _i(22, "noise_dbm"),
    _u(23, "channel_time_ms", delta=True),
    _u(24, "channel_busy_ms", delta=True),
    _fx(25, "busy_pct", 10),
    _s(26, "security"),
    _s(27, "phy"),
    _u(28, "center_freq_mhz"),
)

WIFI = _m(
    7, "wifi",
    _b(1, "enabled"),
    _b(2, "band_steering"),
    _b(3, "guest_enabled"),
    RADIO,
    _s(5, "country"),
)

CELLULAR = _m(
    8, "cellular",
    _s(1, "plmn"),
    _s(2, "mcc"),
    _s(3, "mnc"),
    _s(4, "rat"),
    _u(5, "cell_id", L),
    _u(6, "tac", L),
    _s(7, "registration"),
    _b(8, "roaming"),
    _i(9, "rssi_dbm"),
    _i(10, "rsrp_dbm"),
    _fx(11, "rsrq_db", 10),
    _fx(12, "sinr_db", 10),
    _s(13, "apn"),
    _p(14, "imei"),
    _p(15, "imsi"),
    _p(16, "iccid"),
    _p(17, "msisdn"),
    _s(18, "backend"),
    _u(19, "lac", L),
    _u(20, "pci", L),
    _u(21, "earfcn"),
    _s(22, "band"),
    _s(23, "operator_name"),
    _i(24, "rsrp_dbm_min"),
    _i(25, "rsrp_dbm_max"),
    _fx(26, "rsrp_dbm_mean", 10),
    _fx(27, "sinr_db_min", 10),
    _fx(28, "sinr_db_max", 10),
    _s(29, "manufacturer"),
    _s(30, "model"),
    _s(31, "firmware"),
    _b(32, "attached"),
    _s(33, "ca_bands"),  # carrier aggregation: "B3+B7+B20", primary first
    _u(34, "signal_bars"),  # the router's own 0..5 bars (goform `signalbar`)
    _m(
        35, "nr",  # 5G NSA: the NR leg (the main values are the LTE anchor's)
        _i(1, "rsrp_dbm"),
        _fx(2, "rsrq_db", 10),
        _fx(3, "sinr_db", 10),
        _u(4, "pci", L),
        _u(5, "cell_id", L),
        _s(6, "band"),
        _u(7, "arfcn"),
    ),
)

DEVICE = _m(
    9, "device",
    _s(1, "manufacturer"),
    _s(2, "hw_type"),
    _s(3, "model"),
    _s(4, "sw_version"),
    _p(5, "serial"),
    _p(6, "base_mac"),
    _s(7, "config_digest"),
    _s(8, "agent_version"),
)

POWER = _m(
    10, "power",
    _u(1, "battery_pct"),
    _b(2, "charging"),
    _u(3, "on_external_power_s"),
    _b(4, "long_charging"),
    _b(5, "external_power"),
)

SESSION = _m(
    11, "session",
    _u(1, "connected_since"),
    _u(2, "last_session_s"),
    _u(3, "total_connected_s"),
    _u(4, "connects_total", delta=True),
)

# A snapshot without its events: the "field data" an event may carry.
SNAPSHOT_BODY: tuple[Field, ...] = (
    _u(2, "ts", delta=True),
    _u(3, "uptime_s", delta=True),
    SYSTEM,
    LINK,
    WAN,
    WIFI,
    CELLULAR,
    DEVICE,
    POWER,
    SESSION,
)

EVENT_FIELDS: tuple[Field, ...] = (
    _s(1, "type"),
    _u(2, "ts"),
    _u(3, "uptime_s"),
    _u(4, "duration_s"),
    _s(5, "cause"),
    _m(6, "snapshot", *SNAPSHOT_BODY),
    _s(7, "iface"),
    _u(8, "previous_uptime_s"),
    _u(9, "usage_cycle_bytes"),
    _u(10, "limit_bytes"),
    _s(11, "sw_version"),
    _s(12, "min_version"),
    _i(13, "signal_dbm_median"),
    _i(14, "floor_dbm"),
    _s(15, "reason"),
    _s(16, "command"),
    _u(17, "count"),
)

SNAPSHOT: tuple[Field, ...] = (*SNAPSHOT_BODY, _l(12, "events", *EVENT_FIELDS))

CONSENT = _m(
    4, "consent",
    _b(1, "enabled"),
    _b(2, "location"),
    _s(3, "policy_version"),
)

BATCH: tuple[Field, ...] = (
    _s(2, "device_id"),
    _u(3, "seq"),
    CONSENT,
    _l(5, "snapshots", *SNAPSHOT),
    _l(6, "events", *EVENT_FIELDS),
    _u(7, "dropped_total"),
    _u(8, "ts"),
)

STATUS: tuple[Field, ...] = (
    _s(2, "state"),
    _u(3, "ts"),
    _s(4, "policy_version"),
)

STATUS_STATES = ("online", "offline", "consent_withdrawn")

MESSAGES: dict[MessageKind, tuple[Field, ...]] = {
    MessageKind.SNAPSHOT: SNAPSHOT,
    MessageKind.BATCH: BATCH,
    MessageKind.STATUS: STATUS,
}


def walk(fields: tuple[Field, ...], prefix: str = "") -> list[tuple[str, Field]]:
    """Every field with its dotted JSON path (lists shown as `name[]`)."""
    out: list[tuple[str, Field]] = []
    for f in fields:
        path = f"{prefix}{f.name}"
        out.append((path, f))
        if f.kind is Kind.MAP:
            out.extend(walk(f.children, path + "."))
        elif f.kind is Kind.LIST:
            out.extend(walk(f.children, path + "[]."))
    return out
