"""nl80211 (Wi-Fi) over generic netlink, on the stdlib netlink core.

Why not pyroute2's IW: ``import pyroute2`` costs ~25 MB RSS, and its nl80211 layer is marked
experimental. Four dumps give everything the wifi collector needs: GET_WIPHY (phy names),
GET_INTERFACE, GET_STATION and GET_SURVEY. Only the attributes used are parsed; client MAC
addresses are never read out of a station message, so they cannot leak from here.

Parsers take one generic-netlink payload (genlmsghdr + attributes) so tests can feed recorded
kernel replies; ``Nl80211Source`` asks the kernel through a ``Requester`` (a NetlinkSocket's
``request``, or a replay of recorded replies). Attribute numbers: include/uapi/linux/nl80211.h.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable
from typing import NamedTuple

from ..errors import SourceError
from .netlink import (
    NETLINK_GENERIC,
    NLM_F_DUMP,
    NetlinkError,
    NetlinkSocket,
    attr,
    attr_str,
    pack_attr,
    parse_attrs,
)

GENL_ID_CTRL = 16
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
GENLMSGHDR = struct.Struct("=BBxx")  # cmd, version, reserved

CMD_GET_WIPHY = 1
CMD_NEW_WIPHY = 3
CMD_GET_INTERFACE = 5
CMD_NEW_INTERFACE = 7
CMD_GET_STATION = 17
CMD_NEW_STATION = 19
CMD_GET_SURVEY = 50
CMD_NEW_SURVEY_RESULTS = 51

ATTR_WIPHY = 1
ATTR_WIPHY_NAME = 2
ATTR_IFINDEX = 3
ATTR_IFNAME = 4
ATTR_IFTYPE = 5
ATTR_STA_INFO = 21
ATTR_WIPHY_FREQ = 38
ATTR_SSID = 52
ATTR_SURVEY_INFO = 84
ATTR_WIPHY_TX_POWER_LEVEL = 98  # mBm
ATTR_CHANNEL_WIDTH = 159
ATTR_CENTER_FREQ1 = 160
ATTR_SPLIT_WIPHY_DUMP = 174

STA_INFO_INACTIVE_TIME = 1  # u32 ms
STA_INFO_SIGNAL = 7  # u8 holding an s8, dBm
STA_INFO_TX_BITRATE = 8  # nested rate_info
STA_INFO_RX_BITRATE = 14
RATE_INFO_BITRATE = 1  # u16, 100 kbit/s
RATE_INFO_BITRATE32 = 5  # u32, 100 kbit/s

SURVEY_INFO_FREQUENCY = 1  # u32 MHz
SURVEY_INFO_NOISE = 2  # u8 holding an s8, dBm
SURVEY_INFO_IN_USE = 3  # flag
SURVEY_INFO_TIME = 4  # u64 ms
SURVEY_INFO_TIME_BUSY = 5  # u64 ms

IFTYPE_AP = 3
IFTYPE_P2P_DEVICE = 10
IFTYPES = {
    1: "adhoc", 2: "station", 3: "ap", 4: "ap-vlan", 5: "wds", 6: "monitor", 7: "mesh",
    8: "p2p-client", 9: "p2p-go", 10: "p2p-device", 11: "ocb", 12: "nan",
}
# enum nl80211_chan_width -> MHz (80+80 counts as 160 MHz of spectrum)
CHANNEL_WIDTH_MHZ = {0: 20, 1: 20, 2: 40, 3: 80, 4: 160, 5: 160, 6: 5, 7: 10,
                     8: 1, 9: 2, 10: 4, 11: 8, 12: 16, 13: 320}

Requester = Callable[[int, int, bytes], list[tuple[int, bytes]]]


class Interface(NamedTuple):
    """One nl80211 network interface. P2P-device entries (no netdev, no ifindex) never get here."""

    ifindex: int
    name: str
    wiphy: int | None
    iftype: int | None
    ssid: str | None  # identifier: the collector passes it on for the privacy filter to hash
    freq_mhz: int | None
    width_mhz: int | None
    center_freq_mhz: int | None
    txpower_mbm: int | None

    @property
    def mode(self) -> str | None:
        return IFTYPES.get(self.iftype) if self.iftype is not None else None


class Station(NamedTuple):
    """What the collector aggregates about one client; its MAC address is deliberately absent."""

    signal_dbm: int | None
    tx_bitrate_kbps: int | None
    rx_bitrate_kbps: int | None
    inactive_ms: int | None


class Survey(NamedTuple):
    freq_mhz: int | None
    in_use: bool
    noise_dbm: int | None
    channel_time_ms: int | None
    channel_busy_ms: int | None


def _genl_attrs(payload: bytes, what: str) -> dict[int, bytes]:
    if len(payload) < GENLMSGHDR.size:
        raise SourceError(f"nl80211: {what} message of {len(payload)} bytes is too short")
    return parse_attrs(payload, GENLMSGHDR.size)


def _s8(data: bytes | None) -> int | None:
    return attr("b", data)


def _bitrate_kbps(data: bytes | None) -> int | None:
    """rate_info -> kbit/s (the kernel counts in 100 kbit/s; BITRATE32 when it exceeds u16)."""
    if data is None:
        return None
    rate = parse_attrs(data)
    units = attr("I", rate.get(RATE_INFO_BITRATE32))
    if units is None:
        units = attr("H", rate.get(RATE_INFO_BITRATE))
    return None if units is None else units * 100


def parse_family_id(payload: bytes) -> int:
    attrs = _genl_attrs(payload, "family")
    fid = attr("H", attrs.get(CTRL_ATTR_FAMILY_ID))
    if fid is None:
        raise SourceError("nl80211: family reply without an id")
    return fid


def parse_wiphy_name(payload: bytes) -> tuple[int, str] | None:
    """(wiphy index, name) from a NEW_WIPHY message; split-dump fragments without both: None."""
    attrs = _genl_attrs(payload, "wiphy")
    index = attr("I", attrs.get(ATTR_WIPHY))
    name = attr_str(attrs.get(ATTR_WIPHY_NAME))
    if index is None or not name:
        return None
    return index, name


def parse_interface(payload: bytes) -> Interface | None:
    """A NEW_INTERFACE message; None for entries without a netdev (P2P-device, NAN)."""
    attrs = _genl_attrs(payload, "interface")
    ifindex = attr("I", attrs.get(ATTR_IFINDEX))
    name = attr_str(attrs.get(ATTR_IFNAME))
    if ifindex is None or not name:
        return None
    ssid_raw = attrs.get(ATTR_SSID)
    width = attr("I", attrs.get(ATTR_CHANNEL_WIDTH))
    return Interface(
        ifindex=ifindex,
        name=name,
        wiphy=attr("I", attrs.get(ATTR_WIPHY)),
        iftype=attr("I", attrs.get(ATTR_IFTYPE)),
        ssid=ssid_raw.decode("utf-8", "replace") if ssid_raw else None,
        freq_mhz=attr("I", attrs.get(ATTR_WIPHY_FREQ)),
        width_mhz=CHANNEL_WIDTH_MHZ.get(width) if width is not None else None,
        center_freq_mhz=attr("I", attrs.get(ATTR_CENTER_FREQ1)),
        txpower_mbm=attr("I", attrs.get(ATTR_WIPHY_TX_POWER_LEVEL)),
    )


def parse_station(payload: bytes) -> Station:
    attrs = _genl_attrs(payload, "station")
    info_raw = attrs.get(ATTR_STA_INFO)
    if info_raw is None:
        raise SourceError("nl80211: station message without STA_INFO")
    info = parse_attrs(info_raw)
    return Station(
        signal_dbm=_s8(info.get(STA_INFO_SIGNAL)),
        tx_bitrate_kbps=_bitrate_kbps(info.get(STA_INFO_TX_BITRATE)),
        rx_bitrate_kbps=_bitrate_kbps(info.get(STA_INFO_RX_BITRATE)),
        inactive_ms=attr("I", info.get(STA_INFO_INACTIVE_TIME)),
    )


def parse_survey(payload: bytes) -> Survey | None:
    """One survey entry; None for a message without SURVEY_INFO."""
    attrs = _genl_attrs(payload, "survey")
    raw = attrs.get(ATTR_SURVEY_INFO)
    if raw is None:
        return None
    info = parse_attrs(raw)
    return Survey(
        freq_mhz=attr("I", info.get(SURVEY_INFO_FREQUENCY)),
        in_use=SURVEY_INFO_IN_USE in info,
        noise_dbm=_s8(info.get(SURVEY_INFO_NOISE)),
        channel_time_ms=attr("Q", info.get(SURVEY_INFO_TIME)),
        channel_busy_ms=attr("Q", info.get(SURVEY_INFO_TIME_BUSY)),
    )


def band_of(freq_mhz: int) -> str | None:
    """The band label used on the wire ("2.4", "5", "6", "60" GHz), or None when unknown."""
    if 2400 <= freq_mhz <= 2500:
        return "2.4"
    if 5150 <= freq_mhz <= 5925:
        return "5"
    if 5925 < freq_mhz <= 7125:
        return "6"
    if 57000 <= freq_mhz <= 71000:
        return "60"
    return None


def channel_of(freq_mhz: int) -> int | None:
    """IEEE channel number for a centre frequency (ieee80211_freq_khz_to_channel in the kernel)."""
    if freq_mhz == 2484:
        return 14
    if 2407 < freq_mhz < 2484:
        return (freq_mhz - 2407) // 5
    if freq_mhz == 5935:
        return 2
    if 5950 < freq_mhz <= 7125:
        return (freq_mhz - 5950) // 5
    if 4910 <= freq_mhz <= 4980:
        return (freq_mhz - 4000) // 5
    if 5000 <= freq_mhz < 5950:
        return (freq_mhz - 5000) // 5
    if 58320 <= freq_mhz <= 70200:
        return (freq_mhz - 56160) // 2160
    return None


class NoWifi(SourceError):
    """The kernel has no nl80211 family (no cfg80211): nothing here, not an error."""


class Nl80211Source:
    """Asks the kernel (or a recorded transcript, through ``requester``) for Wi-Fi state."""

    def __init__(self, requester: Requester | None = None) -> None:
        self._requester = requester
        self._sock: NetlinkSocket | None = None
        self._family: int | None = None
        self._phys: dict[int, str] = {}
        self._phys_asked: set[int] = set()  # indexes a GET_WIPHY dump was already done for
        self._no_survey: set[int] = set()  # ifindexes whose driver refused a survey dump

    def _request(self, mtype: int, flags: int, payload: bytes) -> list[tuple[int, bytes]]:
        if self._requester is not None:
            return self._requester(mtype, flags, payload)
        if self._sock is None:
            try:
                self._sock = NetlinkSocket(NETLINK_GENERIC)
            except OSError as e:
                raise SourceError(f"nl80211: cannot open a generic netlink socket: {e.strerror}") from None
        try:
            return self._sock.request(mtype, flags, payload)
        except OSError as e:
            self.close()
            raise SourceError(f"nl80211: request failed: {e.strerror}") from None

    def family(self) -> int:
        if self._family is None:
            req = GENLMSGHDR.pack(CTRL_CMD_GETFAMILY, 1) + pack_attr(CTRL_ATTR_FAMILY_NAME, b"nl80211\0")
            try:
                replies = self._request(GENL_ID_CTRL, 0, req)
            except NetlinkError as e:
                if e.errno == errno.ENOENT:
                    raise NoWifi("nl80211: no Wi-Fi subsystem in this kernel (cfg80211 not loaded)") from None
                raise
            if not replies:
                raise SourceError("nl80211: no reply to the family lookup")
            self._family = parse_family_id(replies[0][1])
        return self._family

    def _dump(self, cmd: int, attrs: bytes = b"") -> list[bytes]:
        fam = self.family()
        try:
            replies = self._request(fam, NLM_F_DUMP, GENLMSGHDR.pack(cmd, 0) + attrs)
        except NetlinkError as e:
            if e.errno != errno.ENOENT:
                raise
            # The family went away (cfg80211 unloaded) or came back under another id: look again.
            self._family = None
            fam = self.family()
            replies = self._request(fam, NLM_F_DUMP, GENLMSGHDR.pack(cmd, 0) + attrs)
        return [body for mtype, body in replies if mtype == fam]

    def phy_names(self) -> dict[int, str]:
        """wiphy index -> name (phy0...), cached; refreshed when an unknown index shows up."""
        names: dict[int, str] = {}
        for body in self._dump(CMD_GET_WIPHY, pack_attr(ATTR_SPLIT_WIPHY_DUMP, b"")):
            got = parse_wiphy_name(body)
            if got is not None:
                names[got[0]] = got[1]
        self._phys = names
        return names

    def phy_name(self, wiphy: int) -> str | None:
        """Cached; a new index costs one GET_WIPHY dump (~40 KB for two radios), once."""
        if wiphy not in self._phys and wiphy not in self._phys_asked:
            self._phys_asked.add(wiphy)
            self.phy_names()
        return self._phys.get(wiphy)

    def interfaces(self) -> list[Interface]:
        out = [parse_interface(b) for b in self._dump(CMD_GET_INTERFACE)]
        return sorted((i for i in out if i is not None), key=lambda i: i.ifindex)

    def stations(self, ifindex: int) -> list[Station]:
        target = pack_attr(ATTR_IFINDEX, struct.pack("=I", ifindex))
        return [parse_station(b) for b in self._dump(CMD_GET_STATION, target)]

    def survey(self, ifindex: int) -> list[Survey] | None:
        """Survey entries, or None when the driver does not support surveys (asked once)."""
        if ifindex in self._no_survey:
            return None
        try:
            bodies = self._dump(CMD_GET_SURVEY, pack_attr(ATTR_IFINDEX, struct.pack("=I", ifindex)))
        except NetlinkError as e:
            if e.errno == errno.EOPNOTSUPP:
                self._no_survey.add(ifindex)
                return None
            raise
        return [s for s in map(parse_survey, bodies) if s is not None]

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._family = None
