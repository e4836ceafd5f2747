"""Recorded device histories for the console and diagnosis tests (and bench/bench_console.py).

Each scenario writes Device/Batch/Sample/Event rows straight into the store, as ingest would
after decoding: every snapshot is a DESIGN.md snapshot (JSON names), its facts become a Sample
row, events carry the field data snapshot at the event, and each batch keeps a real CBOR
encoding (``codec.encode_batch``) unless ``encode=False`` (the bench's month of one-minute data).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zte_uxip.wire import codec

DAY = 86400
HOSTILE = [
    '<script>window.__pwned=1</script>',
    '<img src=x onerror="window.__pwned=2">',
    '{{ 7|add:7 }}{% now "Y" %}',
    'javascript:window.__pwned=3',
    '"><svg onload=window.__pwned=4>',
]


def snapshot(ts: int, *, rsrp_dbm: int | None = -88, sinr_db: float | None = 14.0, rat: str = "lte",
             registration: str = "home", roaming: bool = False, attached: bool = True, plmn: str = "26201",
             cell_id: int = 0x1A2D101, cpu_pct: float = 18.0, mem_used_pct: float = 41.0, wan_up: bool = True,
             rx_bps: int = 2_500_000, tx_bps: int = 400_000, clients: dict[str, int] | None = None,
             sw_version: str = "MF286R_EU_B12", uptime_s: int = 86400, disconnects_total: int = 0,
             text: str | None = None) -> dict[str, Any]:
    """One snapshot as the agent sends it (after the privacy filter)."""
    clients = {"wlan0": 3, "wlan1": 5} if clients is None else clients
    t = text  # a hostile string for every text field, when given
    cell: dict[str, Any] = {
        "plmn": t or plmn, "mcc": t or plmn[:3], "mnc": t or plmn[3:], "rat": t or rat,
        "cell_id": cell_id, "tac": 0x2B67,
        "registration": t or registration, "roaming": roaming, "attached": attached, "rssi_dbm": -65,
        "band": t or "B20", "operator_name": t or "Telekom.de", "apn": t or "internet", "backend": t or "at",
    }
    if rsrp_dbm is not None:
        cell["rsrp_dbm"] = rsrp_dbm
        cell["rsrq_db"] = -10.5
    if sinr_db is not None:
        cell["sinr_db"] = sinr_db
    return {
        "ts": ts,
        "uptime_s": uptime_s,
        "system": {"cpu_pct": cpu_pct, "mem_used_pct": mem_used_pct, "load1": round(cpu_pct / 50, 2)},
        "links": [
            {"name": t or "wwan0", "oper": t or ("up" if wan_up else "down"), "rx_bytes_total": 10**9,
             "tx_bytes_total": 10**8, "rx_bps": rx_bps if wan_up else 0, "tx_bps": tx_bps if wan_up else 0},
            {"name": "br-lan", "oper": "up", "rx_bytes_total": 10**8, "tx_bytes_total": 10**9},
        ],
        "wan": {"iface": t or "wwan0", "up": wan_up, "disconnects_total": disconnects_total, "kind": t or "wwan",
                "rx_bps_peak": rx_bps * 3, "tx_bps_peak": tx_bps * 3, "usage_cycle_bytes": 12 * 10**9},
        "wifi": {"enabled": True, "band_steering": False, "radios": [
            {"iface": t or name, "band": t or ("2.4GHz" if i == 0 else "5GHz"), "freq_mhz": 2437 if i == 0 else 5180,
             "channel": 6 if i == 0 else 36, "clients": n, "txpower_dbm": 20.0, "security": t or "wpa2-psk"}
            for i, (name, n) in enumerate(sorted(clients.items()))]},
        "cellular": cell,
        "device": {"manufacturer": t or "ZTE", "model": t or "MF286R", "hw_type": t or "router",
                   "sw_version": t or sw_version, "agent_version": t or "0.1.0"},
    }


def sample_facts(s: dict[str, Any]) -> dict[str, Any]:
    """A snapshot's facts -> Sample columns (what ingest stores)."""
    cell, wan, sysm = s.get("cellular", {}), s.get("wan", {}), s.get("system", {})
    link = next((ln for ln in s.get("links", []) if ln.get("name") == wan.get("iface")), {})
    radios = s.get("wifi", {}).get("radios", [])
    return {
        "ts": s["ts"], "uptime_s": s.get("uptime_s"), "cpu_pct": sysm.get("cpu_pct"),
        "mem_used_pct": sysm.get("mem_used_pct"), "load1": sysm.get("load1"),
        "wan_iface": str(wan.get("iface", ""))[:32], "wan_up": wan.get("up"),
        "disconnects_total": wan.get("disconnects_total"), "rx_bps": link.get("rx_bps"), "tx_bps": link.get("tx_bps"),
        "rx_bps_peak": wan.get("rx_bps_peak"), "tx_bps_peak": wan.get("tx_bps_peak"),
        "usage_cycle_bytes": wan.get("usage_cycle_bytes"),
        "rat": str(cell.get("rat", ""))[:16], "plmn": str(cell.get("plmn", ""))[:8],
        "registration": str(cell.get("registration", ""))[:24], "roaming": cell.get("roaming"),
        "attached": cell.get("attached"), "rssi_dbm": cell.get("rssi_dbm"), "rsrp_dbm": cell.get("rsrp_dbm"),
        "rsrq_db": cell.get("rsrq_db"), "sinr_db": cell.get("sinr_db"), "cell_id": cell.get("cell_id"),
        "tac": cell.get("tac"),
        "wifi_clients": sum(r.get("clients", 0) for r in radios) if radios else None,
        "wifi_clients_by_radio": {r["iface"]: r.get("clients", 0) for r in radios} if radios else None,
    }


@dataclass
class History:
    device_id: str
    days: float = 7
    step_s: int = 600
    per_batch: int = 6
    end_ago_s: int = 60          # newest sample this long before now
    profile: Callable[[int, random.Random], dict[str, Any]] = lambda ts, rnd: {}
    events: list[dict[str, Any]] = field(default_factory=list)
    device: dict[str, Any] = field(default_factory=dict)
    encode: bool = True
    now: int = field(default_factory=lambda: int(time.time()))
    seed: int = 1


def build(h: History) -> Any:
    from zte_uxip.server.store.models import Batch, Device, Event, Sample

    rnd = random.Random(h.seed)
    end = h.now - h.end_ago_s
    start = end - int(h.days * DAY)
    times = list(range(start, end + 1, h.step_s))
    dev_fields = {"manufacturer": "ZTE", "model": "MF286R", "hw_type": "router", "sw_version": "MF286R_EU_B12",
                  "agent_version": "0.1.0", "policy_version": "2024-05", **h.device}
    d = Device.objects.create(device_id=h.device_id, region="eu", state=dev_fields.pop("state", "online"),
                              state_ts=end, first_seen_ts=start, last_seen_ts=end + 5, last_sample_ts=end,
                              last_seq=0, **dev_fields)
    batches, samples_by_batch = [], []
    for seq, i in enumerate(range(0, len(times), h.per_batch), start=1):
        snaps = [snapshot(t, uptime_s=t - start + 3600, **h.profile(t, rnd)) for t in times[i:i + h.per_batch]]
        cbor = b"\xa0"
        if h.encode:
            cbor = codec.encode_batch({"device_id": h.device_id, "seq": seq, "snapshots": snaps, "events": [],
                                       "consent": {"enabled": True, "location": True,
                                                   "policy_version": dev_fields["policy_version"]},
                                       "dropped_total": 0})
        batches.append(Batch(device=d, seq=seq, received_ts=snaps[-1]["ts"] + 2, sampled_ts=snaps[0]["ts"],
                             snapshots=len(snaps), policy_version=dev_fields["policy_version"], region="eu", cbor=cbor))
        samples_by_batch.append(snaps)
    Batch.objects.bulk_create(batches, batch_size=2000)
    batches = list(Batch.objects.filter(device=d).order_by("seq"))
    rows = [Sample(device=d, batch=b, **sample_facts(s)) for b, snaps in zip(batches, samples_by_batch, strict=True)
            for s in snaps]
    Sample.objects.bulk_create(rows, batch_size=5000)
    starts = [b.sampled_ts for b in batches]
    evs = []
    for e in h.events:
        e = dict(e)
        kind, ts = e.pop("type"), e.pop("ts")
        idx = max(0, sum(1 for s in starts if s <= ts) - 1)
        evs.append(Event(device=d, batch=batches[idx], kind=kind, ts=ts, duration_s=e.pop("duration_s", None),
                         cause=e.pop("cause", ""), snapshot=e.pop("snapshot", None), fields=e))
    Event.objects.bulk_create(evs)
    Device.objects.filter(pk=d.pk).update(batches_total=len(batches), last_seq=len(batches))
    d.refresh_from_db()
    return d


# ------------------------------------------------------------------ scenarios

def drop(ts: int, cause: str, duration_s: int, **radio: Any) -> dict[str, Any]:
    """A `wan_down` event with the field data snapshot taken at the drop."""
    return {"type": "wan_down", "ts": ts, "duration_s": duration_s, "cause": cause, "iface": "wwan0",
            "snapshot": snapshot(ts, wan_up=False, **radio)}


def healthy(device_id: str = "healthy-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    return History(device_id, now=now, profile=lambda ts, rnd: {
        "rsrp_dbm": -86 + rnd.randint(-4, 4), "sinr_db": 15.0 + rnd.randint(-3, 3),
        "cpu_pct": 15.0 + rnd.random() * 15, "mem_used_pct": 40.0 + rnd.random() * 5,
        "rx_bps": rnd.randint(1, 30) * 1_000_000, "clients": {"wlan0": rnd.randint(1, 4), "wlan1": rnd.randint(2, 8)}},
        events=[drop(now - 3 * DAY, "route_lost", 12, rsrp_dbm=-87, sinr_db=14.0)], **kw)


def poor_radio_drops(device_id: str = "flaky-radio-01", days: float = 7, **kw: Any) -> History:
    """The classic complaint: the internet keeps dropping; the router sits at the cell edge."""
    now = kw.pop("now", int(time.time()))
    rnd = random.Random(7)
    events = []
    n = int(6 * days)
    causes = ["route_lost", "route_lost", "modem_detached", "address_lost"]
    drop_times = sorted(now - rnd.randint(600, int(days * DAY) - 600) for _ in range(n))
    for i, ts in enumerate(drop_times):
        if i % 6 == 5:  # a few at fair signal: not every drop is the radio's fault
            events.append(drop(ts, "route_lost", rnd.randint(5, 40), rsrp_dbm=-97, sinr_db=6.0))
        else:
            events.append(drop(ts, causes[i % len(causes)], rnd.randint(20, 600),
                               rsrp_dbm=-113 - rnd.randint(0, 9), sinr_db=float(-rnd.randint(1, 6))))
    down = {ts // 600 for ts in drop_times}

    def profile(ts: int, r: random.Random) -> dict[str, Any]:
        bad = ts // 600 in down
        return {"rsrp_dbm": -108 + r.randint(-8, 6) - (8 if bad else 0), "sinr_db": float(r.randint(-3, 8)),
                "wan_up": not bad, "rx_bps": r.randint(1, 6) * 500_000}

    return History(device_id, days=days, now=now, profile=profile, events=events, **kw)


def roaming(device_id: str = "roaming-01", **kw: Any) -> History:
    return History(device_id, profile=lambda ts, rnd: {"registration": "roaming", "roaming": True,
                                                       "plmn": "23415"}, **kw)


def registration_denied(device_id: str = "denied-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    bad = range(now - 2 * DAY, now - 2 * DAY + 3 * 3600)
    return History(device_id, now=now, profile=lambda ts, rnd: (
        {"registration": "denied", "wan_up": False, "rsrp_dbm": -90} if ts in bad else {}), **kw)


def no_service(device_id: str = "no-service-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    return History(device_id, now=now, profile=lambda ts, rnd: (
        {"registration": "searching", "wan_up": False, "rsrp_dbm": None, "sinr_db": None}
        if (ts // 3600) % 5 == 0 else {}), **kw)


def modem_detached(device_id: str = "detached-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    bad = range(now - DAY, now - DAY + 2 * 3600)
    return History(device_id, now=now, profile=lambda ts, rnd: (
        {"attached": False, "wan_up": False} if ts in bad else {}), **kw)


def data_limit(device_id: str = "data-limit-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    return History(device_id, now=now, events=[{
        "type": "data_limit_exceeded", "ts": now - 2 * DAY, "usage_cycle_bytes": 50_300_000_000,
        "limit_bytes": 50_000_000_000, "iface": "wwan0"}], **kw)


def old_firmware(device_id: str = "old-fw-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    return History(device_id, now=now, device={"sw_version": "MF286R_EU_B05"},
                   profile=lambda ts, rnd: {"sw_version": "MF286R_EU_B05"},
                   events=[{"type": "version_too_low", "ts": now - 5 * DAY, "sw_version": "MF286R_EU_B05",
                            "min_version": "MF286R_EU_B10"}], **kw)


def restarts(device_id: str = "restarts-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    return History(device_id, now=now, events=[
        {"type": "unexpected_restart", "ts": now - k * DAY, "previous_uptime_s": 3600 * (20 + k)} for k in (1, 3, 5)],
        **kw)


def wifi_driver(device_id: str = "wifi-driver-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    return History(device_id, now=now, events=[
        {"type": "wifi_driver_error", "ts": now - 4 * DAY, "cause": "firmware_restart", "count": 2},
        {"type": "wifi_driver_error", "ts": now - DAY, "cause": "interface_gone", "iface": "wlan1"}], **kw)


def weak_password(device_id: str = "weak-pw-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    return History(device_id, now=now, events=[
        {"type": "wifi_weak_password", "ts": now - DAY, "iface": "wlan0", "reason": "shorter than 12 characters"}],
        **kw)


def short_range(device_id: str = "short-range-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    return History(device_id, now=now, events=[
        {"type": "wifi_short_range", "ts": now - k * 6 * 3600, "iface": "wlan1", "signal_dbm_median": -81,
         "floor_dbm": -75} for k in (1, 2, 3, 4)], **kw)


def high_cpu(device_id: str = "high-cpu-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    hot = range(now - 2 * DAY, now - 2 * DAY + 6 * 3600)
    return History(device_id, now=now, profile=lambda ts, rnd: (
        {"cpu_pct": 96.0 + rnd.random() * 3} if ts in hot else {}), **kw)


def high_memory(device_id: str = "high-mem-01", **kw: Any) -> History:
    now = kw.pop("now", int(time.time()))
    full = range(now - 3 * DAY, now - 3 * DAY + 14 * 3600)
    return History(device_id, now=now, profile=lambda ts, rnd: (
        {"mem_used_pct": 95.0 + rnd.random() * 3} if ts in full else {}), **kw)


def stopped_reporting(device_id: str = "silent-01", **kw: Any) -> History:
    return History(device_id, end_ago_s=2 * DAY, **kw)


def hostile(device_id: str = "hostile-01", text: str = HOSTILE[0], **kw: Any) -> History:
    """Markup, template syntax and javascript: URLs in every string a device can send."""
    now = kw.pop("now", int(time.time()))
    return History(device_id, days=1, now=now, device={
        "manufacturer": text, "model": text, "hw_type": text[:64], "sw_version": text[:64], "agent_version": text[:64],
        "policy_version": text[:64]},
        profile=lambda ts, rnd: {"text": text, "clients": {text[:15]: 2, "wlan0": 1}},
        events=[
            {**drop(now - 3600, text, 30, rsrp_dbm=-120, sinr_db=-4.0, text=text), "cause": text[:32]},
            {"type": text[:32], "ts": now - 1800, "cause": text[:32], "reason": text, "iface": text},
            {"type": "wifi_weak_password", "ts": now - 1700, "iface": text, "reason": text},
            {"type": "version_too_low", "ts": now - 1600, "sw_version": text, "min_version": text},
        ], **kw)


def hostile_mix(device_id: str = "hostile-mix-01", **kw: Any) -> History:
    """Every hostile string at once, one per field (for the browser: none may run)."""
    h = hostile(device_id, text=HOSTILE[1], **kw)
    h.device = {"manufacturer": HOSTILE[0], "model": HOSTILE[4], "hw_type": HOSTILE[3], "sw_version": HOSTILE[2],
                "agent_version": HOSTILE[1], "policy_version": HOSTILE[3]}
    h.events.append({"type": "wifi_driver_error", "ts": h.now - 900, "cause": HOSTILE[0][:32], "iface": HOSTILE[4]})
    return h


RULE_SCENARIOS: dict[str, Callable[..., History]] = {
    "wan_drops": poor_radio_drops,
    "drops_poor_radio": poor_radio_drops,
    "registration_denied": registration_denied,
    "no_service": no_service,
    "roaming": roaming,
    "modem_detached": modem_detached,
    "data_limit_exceeded": data_limit,
    "version_too_low": old_firmware,
    "unexpected_restarts": restarts,
    "wifi_driver_error": wifi_driver,
    "wifi_weak_password": weak_password,
    "wifi_short_range": short_range,
    "high_cpu": high_cpu,
    "high_memory": high_memory,
    "stopped_reporting": stopped_reporting,
}
