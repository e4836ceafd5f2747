"""Test data for the store: realistic telemetry batches encoded with the real codec, and a small
stand-in for the write path that turns one decoded batch into Device/Batch/Sample/Event rows.

The stand-in maps the decoded JSON (what ingest receives), not test-only shapes, so the same
batches can go through the real write path once it lands (store/write.py, issue 11a).
"""

from __future__ import annotations

from typing import Any

from zte_uxip.wire import codec

T0 = 1_790_000_000  # 2026-09-21 UTC


def snapshot(ts: int, *, wan_up: bool = True, rsrp_dbm: int = -95, sinr_db: int = 12, rat: str = "lte",
             plmn: str = "310260", clients: tuple[int, int] = (3, 1), cpu_pct: float = 4.5,
             rx_bps: int = 1_200_000, location: bool = True) -> dict[str, Any]:
    """One router snapshot as the agent sends it: 4 links, WAN on wwan0, 2 radios, LTE modem."""
    links = []
    for n, name in enumerate(("lo", "eth0", "br-lan", "wwan0")):
        links.append({"name": name, "oper": "up" if wan_up or name != "wwan0" else "down", "mtu": 1500,
                      "rx_bytes_total": 10_000_000 * n + (ts - T0) * 150, "tx_bytes_total": 5_000_000 * n,
                      "carrier_changes_total": 2, "rx_bps": rx_bps if name == "wwan0" else 1000,
                      "tx_bps": 250_000 if name == "wwan0" else 800})
    cell: dict[str, Any] = {"plmn": plmn, "mcc": plmn[:3], "mnc": plmn[3:], "rat": rat, "registration": "home",
                            "roaming": False, "rssi_dbm": -69, "rsrp_dbm": rsrp_dbm, "rsrq_db": -10,
                            "sinr_db": sinr_db, "attached": wan_up}
    if location:
        cell.update(cell_id=0x01A2D101, tac=0x2B67)
    return {
        "ts": ts, "uptime_s": 86_400 + ts - T0,
        "system": {"cpu_pct": cpu_pct, "mem_used_pct": 41.5, "load1": 0.31},
        "links": links,
        "wan": {"iface": "wwan0", "up": wan_up, "disconnects_total": 1, "rx_bps_peak": rx_bps * 2,
                "tx_bps_peak": 400_000, "usage_cycle_bytes": 1_000_000 + ts - T0},
        "wifi": {"enabled": True, "radios": [
            {"iface": "wlan0", "band": "2.4", "channel": 6, "clients": clients[0]},
            {"iface": "wlan1", "band": "5", "channel": 36, "clients": clients[1]}]},
        "cellular": cell,
        "device": {"manufacturer": "ZTE", "model": "MF289F", "sw_version": "BD_MF289F_V1.0", "agent_version": "0.1.0"},
    }


def wan_down(ts: int, duration_s: int, cause: str = "carrier_lost") -> dict[str, Any]:
    snap = snapshot(ts - duration_s, wan_up=True, rsrp_dbm=-118, sinr_db=-3)
    snap.pop("device")
    return {"type": "wan_down", "ts": ts, "duration_s": duration_s, "cause": cause, "iface": "wwan0",
            "snapshot": snap}


def batch(device_id: str, seq: int, snapshots: list[dict[str, Any]], events: list[dict[str, Any]] | None = None,
          *, policy_version: str = "2", location: bool = True) -> bytes:
    return codec.encode_batch({"device_id": device_id, "seq": seq,
                               "consent": {"enabled": True, "location": location, "policy_version": policy_version},
                               "snapshots": snapshots, "events": events or [], "dropped_total": 0})


def sample_row(s: dict[str, Any]) -> dict[str, Any]:
    """The Sample columns of one decoded snapshot (the facts support queries)."""
    wan = s.get("wan") or {}
    cell = s.get("cellular") or {}
    system = s.get("system") or {}
    link = next((x for x in s.get("links") or [] if x.get("name") == wan.get("iface")), {})
    radios = (s.get("wifi") or {}).get("radios") or []
    by_radio = {r["iface"]: r["clients"] for r in radios if "clients" in r and "iface" in r}
    return {
        "ts": s["ts"], "uptime_s": s.get("uptime_s"), "cpu_pct": system.get("cpu_pct"),
        "mem_used_pct": system.get("mem_used_pct"), "load1": system.get("load1"),
        "wan_iface": wan.get("iface", ""), "wan_up": wan.get("up"), "disconnects_total": wan.get("disconnects_total"),
        "rx_bps": link.get("rx_bps"), "tx_bps": link.get("tx_bps"), "rx_bps_peak": wan.get("rx_bps_peak"),
        "tx_bps_peak": wan.get("tx_bps_peak"), "usage_cycle_bytes": wan.get("usage_cycle_bytes"),
        "rat": cell.get("rat", ""), "plmn": cell.get("plmn", ""), "registration": cell.get("registration", ""),
        "roaming": cell.get("roaming"), "attached": cell.get("attached"), "rssi_dbm": cell.get("rssi_dbm"),
        "rsrp_dbm": cell.get("rsrp_dbm"), "rsrq_db": cell.get("rsrq_db"), "sinr_db": cell.get("sinr_db"),
        "cell_id": cell.get("cell_id"), "tac": cell.get("tac"),
        "wifi_clients": sum(by_radio.values()) if by_radio else None, "wifi_clients_by_radio": by_radio or None,
    }


def event_row(e: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in e.items() if k not in ("type", "ts", "duration_s", "cause", "snapshot")}
    return {"kind": e.get("type", ""), "ts": e.get("ts", 0), "duration_s": e.get("duration_s"),
            "cause": e.get("cause", ""), "fields": rest, "snapshot": e.get("snapshot")}


def store(cbor: bytes, received_ts: int, region: str = "eu") -> Any:
    """Insert one batch the way ingest would (decode, device upsert, batch, samples, events)."""
    from zte_uxip.server.store.models import Batch, Device, Event, Sample

    b = codec.decode(cbor)
    snaps = b["snapshots"]
    newest = snaps[-1] if snaps else {}
    facts = newest.get("device") or {}
    consent = b.get("consent") or {}
    dev, _ = Device.objects.get_or_create(device_id=b["device_id"], defaults={
        "region": region, "first_seen_ts": received_ts, "last_seen_ts": received_ts})
    dev.last_seen_ts = max(dev.last_seen_ts, received_ts)
    dev.last_sample_ts = max(dev.last_sample_ts or 0, newest.get("ts", 0)) or None
    dev.last_seq = max(dev.last_seq or 0, b["seq"])
    dev.batches_total += 1
    dev.policy_version = consent.get("policy_version", "")
    dev.location_enabled = consent.get("location", True)
    for k in ("manufacturer", "model", "hw_type", "sw_version", "agent_version"):
        if facts.get(k):
            setattr(dev, k, facts[k])
    dev.save()
    row = Batch.objects.create(device=dev, seq=b["seq"], received_ts=received_ts,
                               sampled_ts=min((s["ts"] for s in snaps), default=received_ts),
                               snapshots=len(snaps), consent_enabled=consent.get("enabled", True),
                               consent_location=consent.get("location", True),
                               policy_version=consent.get("policy_version", ""),
                               dropped_total=b.get("dropped_total", 0), region=region, cbor=cbor)
    Sample.objects.bulk_create([Sample(device=dev, batch=row, **sample_row(s)) for s in snaps])
    Event.objects.bulk_create([Event(device=dev, batch=row, **event_row(e)) for e in b.get("events", [])])
    return row


# ----------------------------------------------------------------- the scenario the CLI tests use

NOW = T0 + 40 * 86400  # the tests' fake clock (ZTE_UXIP_SERVER_NOW)
HOUR = 3600


def scenario() -> list[tuple[bytes, int]]:
    """(CBOR, received_ts) of every batch, in arrival order:

    - ``zx-alpha``: one batch every 6 h for 38 days, one an hour for the next 2 days (RSRP
      worse at night, 00-06 UTC), then one a minute for the last 2 h; a 95 s ``carrier_lost``
      outage 30 min ago, a 40 s one 35 days ago, a batch with two snapshots; online.
    - ``zx-beta``: six batches a minute apart, 2 h ago: offline (silent > offline_after_s).
    - ``zx-old``: three batches 35 days ago and nothing since: past retention entirely.
    """
    out: list[tuple[bytes, int]] = []
    seq = 0
    start = NOW - 40 * 86400
    hourly_from = NOW - 2 * 86400
    for ts in [*range(start, hourly_from, 6 * HOUR), *range(hourly_from, NOW - 2 * HOUR, HOUR)]:
        seq += 1
        night = (ts // HOUR) % 24 < 6
        events = [wan_down(ts, 40)] if ts == start + 5 * 86400 + 6 * HOUR else []
        out.append((batch("zx-alpha", seq, [snapshot(ts, rsrp_dbm=-110 if night else -92)], events), ts + 5))
    for ts in range(NOW - 2 * HOUR, NOW - 60, 60):
        seq += 1
        down = NOW - 30 * 60 - 95 <= ts < NOW - 30 * 60
        events = [wan_down(ts, 95)] if ts == NOW - 30 * 60 else []
        snaps = [snapshot(ts, wan_up=not down, rat="nr5g-nsa" if ts > NOW - 10 * 60 else "lte")]
        if ts == NOW - 20 * 60:
            snaps.append(snapshot(ts + 30, cpu_pct=55.0))
        out.append((batch("zx-alpha", seq, snaps, events), ts + 2))
    for i in range(6):
        ts = NOW - 2 * HOUR - 6 * 60 + i * 60
        out.append((batch("zx-beta", i + 1, [snapshot(ts, rat="umts", plmn="26201", clients=(0, 0))]), ts + 1))
    for i in range(3):
        ts = NOW - 35 * 86400 + i * 60
        out.append((batch("zx-old", 100 + i, [snapshot(ts)], location=False), ts + 1))
    return out


def fill_extras() -> None:
    """What ingest and the console would have left besides batches: a tombstone, commands
    (one recent, one past retention), and an access-log entry past audit_days."""
    from zte_uxip.server.commands.models import Command
    from zte_uxip.server.store.models import AuditEntry, Tombstone

    Tombstone.objects.create(device_id="zx-gone", withdrawn_ts=NOW - 3 * 86400, policy_version="2", region="eu")
    Command.objects.create(command_id="11" * 16, device_id="zx-alpha", verb="ping", args={"host": "example.net"},
                           issued_by="alice", issued_ts=NOW - HOUR, expires_ts=NOW - HOUR + 300, status="ok",
                           result={"loss_pct": 0}, answered_ts=NOW - HOUR + 3)
    Command.objects.create(command_id="22" * 16, device_id="zx-alpha", verb="snapshot", issued_by="alice",
                           issued_ts=NOW - 35 * 86400, status="timeout")
    AuditEntry.objects.create(ts=NOW - 800 * 86400, username="carol", action="view", device_id="zx-alpha",
                              remote_addr="10.0.0.9", detail="console")
    AuditEntry.objects.create(ts=NOW - 2 * 86400, username="bob", action="view", device_id="zx-alpha",
                              remote_addr="10.0.0.7", detail="console")
