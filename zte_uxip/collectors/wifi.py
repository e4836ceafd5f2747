"""wifi.{enabled, band_steering, guest_enabled, country, radios[]} and the Wi-Fi events.

Radios come from nl80211 (one entry per netdev interface; P2P-device entries have none).
Clients are counted, and their signal / bit rates / inactivity aggregated to min/median/max, on
AP interfaces only: a station interface's "station" is its own access point. Client MACs are
never read. The SSID goes into the snapshot in clear for the privacy filter to hash. Config
facts (on/off, band steering, guest SSID, WPA mode) come from UCI or hostapd.conf; when that
cannot be read the radios are still reported.

Events: ``wifi_driver_error`` (an interface vanished while Wi-Fi stays configured on, or the
kernel log reports a firmware restart), ``wifi_short_range`` (an AP's clients' median signal
stayed below ``[wifi] short_range_dbm`` for a whole report interval), ``wifi_weak_password``
(at start and after each change of the Wi-Fi configuration, per weak passphrase; only the
verdict, never the passphrase).
"""

from __future__ import annotations

import errno
import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from .. import clock
from ..config import IntervalsConfig, WifiConfig
from ..errors import SourceError
from ..sources import wireless_config
from ..sources.nl80211 import IFTYPE_AP, Interface, Nl80211Source, NoWifi, Station, Survey, band_of, channel_of
from .base import Context

log = logging.getLogger(__name__)

# Kernel log phrases of Wi-Fi firmware crashes/restarts (mac80211, ath10k/11k, iwlwifi,
# brcmfmac, mt76, rtw88), lower case.
FIRMWARE_RESTART_PHRASES = (
    "hardware restart was requested",
    "firmware crashed",
    "firmware crash",
    "firmware has halted or crashed",
    "microcode sw error detected",
    "fw crash",
    "firmware restart",
    "restarting firmware",
)
# ...and only on lines from a Wi-Fi driver or naming a wiphy/WLAN: a GPU or Bluetooth firmware
# crash is not a Wi-Fi driver error.
WIFI_LOG_SOURCE = re.compile(
    r"\b(ath\d*k?\w*|iwlwifi|brcmf\w*|mt7\w+|mt76\w*|rtw\d+\w*|rtl8\w+|mwlwifi|mwifiex\w*|wil6210|"
    r"ieee80211|cfg80211|mac80211|wlan\d*|phy\d+)\b")
MAX_KMSG_RECORDS = 1000  # per sample: bounds the work after a log storm


def _stats(values: Iterable[int | None]) -> tuple[int, int, int] | None:
    """(min, median, max); the median of an even count is the mean of the middle two, rounded.
    (Not `statistics`: it drags in decimal, fractions and random, ~1 MB of RSS, for one line.)"""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    median = vals[mid] if len(vals) % 2 else round((vals[mid - 1] + vals[mid]) / 2)
    return vals[0], median, vals[-1]


def _put_stats(out: dict[str, Any], prefix: str, values: Iterable[int | None]) -> None:
    s = _stats(values)
    if s is not None:
        out[f"{prefix}_min"], out[f"{prefix}_median"], out[f"{prefix}_max"] = s


class KernelLog:
    """New /dev/kmsg records since the last read (the history before ``open`` is skipped)."""

    def __init__(self, path: str) -> None:
        self._fd: int | None = None
        self._path = path
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            os.lseek(self._fd, 0, os.SEEK_END)
        except OSError as e:
            log.info("wifi: kernel log %s not readable (%s): firmware restarts are not detected",
                     path, e.strerror)
            self.close()

    def messages(self) -> list[str]:
        out: list[str] = []
        if self._fd is None:
            return out
        pending = b""
        for _ in range(MAX_KMSG_RECORDS):
            try:
                chunk = os.read(self._fd, 8192)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EPIPE:  # records overwritten before we read them: go on
                    continue
                raise SourceError(f"wifi: kernel log {self._path}: {e.strerror}") from None
            if not chunk:
                break
            pending += chunk
        for line in pending.decode("utf-8", "replace").splitlines():
            if line and not line.startswith(" "):  # continuation lines carry key=value metadata
                out.append(line.split(";", 1)[1] if ";" in line else line)
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class WifiCollector:
    section = "wifi"

    def __init__(self, ctx: Context, source: Nl80211Source | None = None,
                 monotonic: Callable[[], float] = clock.monotonic_s) -> None:
        cfg = ctx.config
        self._cfg = cfg.wifi if cfg is not None else WifiConfig()
        self._report_s = (cfg.intervals if cfg is not None else IntervalsConfig()).report_s
        self._root = ctx.root
        self._emit = ctx.emit
        self._source = source or Nl80211Source()
        self._now = monotonic
        self._kmsg: KernelLog | None = None
        self._known_ifaces: set[str] | None = None
        self._below_since: dict[str, float] = {}
        self._short_reported: set[str] = set()
        self._settings_key: tuple[tuple[str, int, int], ...] | None = None
        self._settings_checked_s = 0.0
        self._settings: wireless_config.WirelessSettings | None = None
        self._surveys: dict[int, list[Survey] | None] = {}

    def prime(self) -> None:
        if self._kmsg is None and self._cfg.kmsg_file:
            self._kmsg = KernelLog(self._root + self._cfg.kmsg_file)

    def collect(self) -> dict[str, Any] | None:
        settings = self._read_settings()
        try:
            ifaces = self._source.interfaces()
        except NoWifi:
            ifaces = []  # cfg80211 absent (or unloaded: interfaces that were here are gone)
        self._surveys = {}  # per wiphy, for this sample
        radios = [self._radio(i, settings) for i in ifaces]
        self._check_gone(ifaces, settings)
        self._check_firmware()
        if not radios and settings is None:
            return None
        out: dict[str, Any] = {}
        if settings is not None:
            out.update(enabled=settings.enabled, band_steering=settings.band_steering,
                       guest_enabled=settings.guest_enabled, country=settings.country)
        if out.get("enabled") is None and any(i.iftype == IFTYPE_AP and i.freq_mhz for i in ifaces):
            out["enabled"] = True  # an AP on a channel is Wi-Fi switched on, whatever the config says
        out["radios"] = radios
        return {k: v for k, v in out.items() if v is not None}

    def close(self) -> None:
        self._source.close()
        if self._kmsg is not None:
            self._kmsg.close()
            self._kmsg = None

    # -- radios -------------------------------------------------------------------------------

    def _radio(self, iface: Interface, settings: wireless_config.WirelessSettings | None) -> dict[str, Any]:
        r: dict[str, Any] = {"iface": iface.name, "mode": iface.mode, "ssid": iface.ssid}
        if iface.freq_mhz:
            r.update(freq_mhz=iface.freq_mhz, band=band_of(iface.freq_mhz), channel=channel_of(iface.freq_mhz))
        r.update(width_mhz=iface.width_mhz, center_freq_mhz=iface.center_freq_mhz)
        if iface.txpower_mbm is not None:
            r["txpower_dbm"] = iface.txpower_mbm / 100
        if iface.wiphy is not None:
            r["phy"] = self._source.phy_name(iface.wiphy)
        if iface.iftype == IFTYPE_AP:
            stations = self._source.stations(iface.ifindex)
            r["clients"] = len(stations)
            self._aggregate(r, stations)
            self._check_short_range(iface.name, r.get("signal_dbm_median"))
        if iface.freq_mhz:
            self._add_survey(r, iface)
        cfg = _match(iface, settings)
        if cfg is not None:
            r["security"] = cfg.security
        return {k: v for k, v in r.items() if v is not None}

    @staticmethod
    def _aggregate(r: dict[str, Any], stations: list[Station]) -> None:
        _put_stats(r, "signal_dbm", (s.signal_dbm for s in stations))
        _put_stats(r, "tx_bitrate_kbps", (s.tx_bitrate_kbps for s in stations))
        _put_stats(r, "rx_bitrate_kbps", (s.rx_bitrate_kbps for s in stations))
        _put_stats(r, "inactive_ms", (s.inactive_ms for s in stations))

    def _add_survey(self, r: dict[str, Any], iface: Interface) -> None:
        # A survey describes the radio, not the interface: ask once per wiphy per sample.
        key = iface.wiphy if iface.wiphy is not None else -iface.ifindex
        if key not in self._surveys:
            self._surveys[key] = self._source.survey(iface.ifindex)
        entries = self._surveys[key]
        if not entries:
            return  # the driver has no survey, or nothing measured yet: unknown, not zero
        cur: Survey | None = next((s for s in entries if s.in_use), None)
        if cur is None:
            cur = next((s for s in entries if s.freq_mhz == iface.freq_mhz), None)
        if cur is None:
            return
        r["noise_dbm"] = cur.noise_dbm
        r["channel_time_ms"] = cur.channel_time_ms
        r["channel_busy_ms"] = cur.channel_busy_ms
        if cur.channel_time_ms and cur.channel_busy_ms is not None:
            r["busy_pct"] = round(100.0 * cur.channel_busy_ms / cur.channel_time_ms, 1)

    # -- events -------------------------------------------------------------------------------

    def _event(self, etype: str, **fields: Any) -> None:
        ev = {"type": etype, "ts": clock.wall_ts(), "uptime_s": int(clock.boottime_s()), **fields}
        self._emit({k: v for k, v in ev.items() if v is not None})

    def _check_gone(self, ifaces: list[Interface], settings: wireless_config.WirelessSettings | None) -> None:
        names = {i.name for i in ifaces}
        if self._known_ifaces is not None and not (settings is not None and settings.enabled is False):
            for name in sorted(self._known_ifaces - names):
                self._event("wifi_driver_error", iface=name, cause="interface_gone")
        self._known_ifaces = names

    def _check_firmware(self) -> None:
        if self._kmsg is None:
            return
        hits = 0
        for msg in self._kmsg.messages():
            low = msg.lower()
            if any(p in low for p in FIRMWARE_RESTART_PHRASES) and WIFI_LOG_SOURCE.search(low):
                hits += 1
        if hits:
            self._event("wifi_driver_error", cause="firmware_restart", count=hits)

    def _check_short_range(self, iface: str, median_dbm: int | None) -> None:
        floor = self._cfg.short_range_dbm
        if median_dbm is None or median_dbm >= floor:
            self._below_since.pop(iface, None)
            self._short_reported.discard(iface)
            return
        now = self._now()
        since = self._below_since.setdefault(iface, now)
        if now - since >= self._report_s and iface not in self._short_reported:
            self._short_reported.add(iface)
            self._event("wifi_short_range", iface=iface, signal_dbm_median=median_dbm, floor_dbm=floor,
                        duration_s=int(now - since))

    # -- configuration ------------------------------------------------------------------------

    def _read_settings(self) -> wireless_config.WirelessSettings | None:
        """Re-read only when a config file changed; a broken config costs only the config facts.
        The files are looked at once per report interval, not at every sample (a glob and a
        stat per file were a fifth of a sample's CPU)."""
        now = self._now()
        if self._settings_key is not None and now - self._settings_checked_s < self._report_s:
            return self._settings
        self._settings_checked_s = now
        files = wireless_config.config_files(self._root, self._cfg.uci_file, self._cfg.hostapd_conf)
        key = []
        for path in files:
            try:
                st = os.stat(path)
            except OSError:
                continue
            key.append((path, st.st_mtime_ns, st.st_size))
        if tuple(key) == self._settings_key:
            return self._settings
        self._settings_key = tuple(key)
        try:
            self._settings = wireless_config.read_settings(self._root, self._cfg.uci_file, self._cfg.hostapd_conf)
        except SourceError as e:
            log.warning("wifi: %s", e)
            self._settings = None
            return None
        for s in self._settings.ifaces if self._settings else ():
            if s.enabled and s.weak_password:
                self._event("wifi_weak_password", iface=s.ifname, reason=s.weak_password)
        return self._settings


def _match(iface: Interface, settings: wireless_config.WirelessSettings | None) -> wireless_config.IfaceSettings | None:
    """The configured SSID behind an interface: by interface name, else by a unique SSID."""
    if settings is None:
        return None
    by_name = [s for s in settings.ifaces if s.ifname == iface.name]
    if by_name:
        return by_name[0]
    by_ssid = [s for s in settings.ifaces if iface.ssid is not None and s.ssid == iface.ssid]
    return by_ssid[0] if len(by_ssid) == 1 else None
