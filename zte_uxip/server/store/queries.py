"""Read-side queries on the store, shared by the CLI verbs (`devices`, `show`, `export`) and the
console: a device's state as support sees it, its timeline, its disconnects.

Each function is one query (or a few), returns plain dicts and lists ready for JSON or a
template, and never loads more rows than it returns: a device holding a year of one-minute
batches is aggregated in the database, not in Python. Times are unix seconds, as stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, F, Max, Min, Q, Sum

from .models import AuditEntry, Batch, Device, Event, Sample, Tombstone

PER_SAMPLE_MAX_S = 3 * 3600  # windows up to this long are shown sample by sample, longer ones per hour
HOUR_S = 3600


def effective_state(device: Device, now: int, offline_after_s: int) -> str:
    """online / offline / consent_withdrawn: the last status message, unless the device has been
    silent longer than ``offline_after_s`` (a lost will or a dead broker still reads offline)."""
    if device.state == "consent_withdrawn":
        return "consent_withdrawn"
    if device.state == "offline" or now - device.last_seen_ts > offline_after_s:
        return "offline"
    return "online"


def device_list(now: int, offline_after_s: int) -> list[dict[str, Any]]:
    """Every device the store knows, tombstones (consent withdrawn, data erased) included, by id."""
    out: dict[str, dict[str, Any]] = {}
    for t in Tombstone.objects.order_by("device_id"):
        out[t.device_id] = {"device_id": t.device_id, "last_seen": t.withdrawn_ts,
                            "state": "consent_withdrawn", "batches": 0}
    for d in Device.objects.order_by("device_id"):
        state = effective_state(d, now, offline_after_s)
        if d.device_id in out and state == "consent_withdrawn":
            continue  # the tombstone says it already
        out[d.device_id] = {"device_id": d.device_id, "last_seen": d.last_seen_ts, "state": state,
                            "batches": d.batches_total}
    return [out[k] for k in sorted(out)]


def device_summary(device_id: str, now: int, offline_after_s: int) -> dict[str, Any] | None:
    """The header of a device's page: state, when seen, what it is. None if unknown."""
    d = Device.objects.filter(device_id=device_id).first()
    if d is None:
        t = Tombstone.objects.filter(device_id=device_id).first()
        if t is None:
            return None
        return {"device_id": device_id, "state": "consent_withdrawn", "withdrawn_ts": t.withdrawn_ts,
                "policy_version": t.policy_version, "region": t.region, "batches": 0}
    return {
        "device_id": d.device_id, "state": effective_state(d, now, offline_after_s), "region": d.region,
        "first_seen_ts": d.first_seen_ts, "last_seen_ts": d.last_seen_ts, "last_sample_ts": d.last_sample_ts,
        "state_ts": d.state_ts, "policy_version": d.policy_version, "location_enabled": d.location_enabled,
        "manufacturer": d.manufacturer, "model": d.model, "hw_type": d.hw_type, "sw_version": d.sw_version,
        "agent_version": d.agent_version, "batches": d.batches_total, "last_seq": d.last_seq,
        "dropped_total": d.dropped_total,
    }


_SAMPLE_COLUMNS = ("ts", "wan_up", "rat", "plmn", "registration", "rsrp_dbm", "sinr_db", "rsrq_db", "rx_bps",
                   "tx_bps", "rx_bps_peak", "tx_bps_peak", "cpu_pct", "mem_used_pct", "wifi_clients",
                   "disconnects_total")


def samples(device_id: str, since_ts: int, until_ts: int) -> list[dict[str, Any]]:
    """One row per snapshot in [since_ts, until_ts), oldest first (for short windows)."""
    rows = (Sample.objects.filter(device__device_id=device_id, ts__gte=since_ts, ts__lt=until_ts)
            .order_by("ts").values(*_SAMPLE_COLUMNS))
    return [dict(r) for r in rows]


def hourly(device_id: str, since_ts: int, until_ts: int, bucket_s: int = HOUR_S) -> list[dict[str, Any]]:
    """Per-bucket aggregates in [since_ts, until_ts), oldest first, from one grouped query.

    ``wan_up_pct``: share of samples with the WAN up; signal as min/mean; rates as mean and
    peak; ``rat``/``plmn``: the most frequent value in the bucket. The database groups by
    (bucket, rat, plmn) — a handful of rows per hour — and the groups of an hour are merged
    here, so a month of one-minute samples is read once."""
    groups = (Sample.objects.filter(device__device_id=device_id, ts__gte=since_ts, ts__lt=until_ts)
              .annotate(bucket=F("ts") / bucket_s)  # integer division on both databases
              .values("bucket", "rat", "plmn").order_by("bucket")
              .annotate(n=Count("id"), up=Count("id", filter=Q(wan_up=True)), known=Count("wan_up"),
                        **{f"{c}_min": Min(c) for c in _MIN},
                        **{f"{c}_max": Max(c) for c in _MAX},
                        **{f"{c}_sum": Sum(c) for c in _MEAN},
                        **{f"{c}_n": Count(c) for c in _MEAN}))
    buckets: dict[int, dict[str, Any]] = {}
    for g in groups:
        acc = buckets.setdefault(g["bucket"], {"n": 0, "up": 0, "known": 0, "rat": Counter(), "plmn": Counter()})
        for k in ("n", "up", "known"):
            acc[k] += g[k]
        for k in ("rat", "plmn"):
            if g[k]:
                acc[k][g[k]] += g["n"]
        for c in _MIN:
            acc[c + "_min"] = _pick(min, acc.get(c + "_min"), g[c + "_min"])
        for c in _MAX:
            acc[c + "_max"] = _pick(max, acc.get(c + "_max"), g[c + "_max"])
        for c in _MEAN:
            acc[c + "_sum"] = acc.get(c + "_sum", 0) + (g[c + "_sum"] or 0)
            acc[c + "_n"] = acc.get(c + "_n", 0) + g[c + "_n"]
    out = []
    for b in sorted(buckets):
        acc = buckets[b]
        row: dict[str, Any] = {"ts": b * bucket_s, "samples": acc["n"],
                               "wan_up_pct": round(100.0 * acc["up"] / acc["known"], 1) if acc["known"] else None,
                               "rat": _mode(acc["rat"]), "plmn": _mode(acc["plmn"])}
        for c in _MEAN:
            row[c + "_mean"] = round(acc[c + "_sum"] / acc[c + "_n"], 1) if acc[c + "_n"] else None
        for c in _MIN:
            row[c + "_min"] = acc[c + "_min"]
        for c in _MAX:
            row[c if c.endswith("_peak") else c + "_max"] = acc[c + "_max"]  # a peak is already a max
        out.append(row)
    return out


_MIN = ("rsrp_dbm", "sinr_db")
_MAX = ("rx_bps_peak", "tx_bps_peak", "mem_used_pct", "wifi_clients", "disconnects_total")
_MEAN = ("rsrp_dbm", "sinr_db", "rx_bps", "tx_bps", "cpu_pct", "mem_used_pct")


def _pick(fn: Any, a: Any, b: Any) -> Any:
    """min/max that treat NULL (unknown) as absent, not as a value."""
    return b if a is None else a if b is None else fn(a, b)


def _mode(c: Counter[str]) -> str | None:
    return c.most_common(1)[0][0] if c else None


def timeline(device_id: str, since_ts: int, until_ts: int) -> dict[str, Any]:
    """Rows for the window: per sample when it is short (<= 3 h), else per hour."""
    if until_ts - since_ts <= PER_SAMPLE_MAX_S:
        return {"every": "sample", "rows": samples(device_id, since_ts, until_ts)}
    return {"every": "hour", "rows": hourly(device_id, since_ts, until_ts)}


def events(device_id: str, since_ts: int, until_ts: int, kind: str | None = None) -> list[dict[str, Any]]:
    """Events in the window, oldest first; ``wan_down`` ones carry cause, duration and field data."""
    qs = Event.objects.filter(device__device_id=device_id, ts__gte=since_ts, ts__lt=until_ts)
    if kind:
        qs = qs.filter(kind=kind)
    return [dict(r) for r in qs.order_by("ts", "id").values("kind", "ts", "duration_s", "cause", "fields", "snapshot")]


def disconnects(device_id: str, since_ts: int, until_ts: int) -> list[dict[str, Any]]:
    """The WAN outages (``wan_down`` events) in the window, oldest first."""
    return events(device_id, since_ts, until_ts, kind="wan_down")


def batch_cbor_pages(device_id: str, page: int = 2000) -> Iterator[list[tuple[int, bytes]]]:
    """(seq, CBOR) of every stored batch of the device, by seq, a page at a time (keyset on the
    unique (device, seq) index), so a year of one-minute batches is never in memory at once."""
    last: int | None = None
    while True:
        qs = Batch.objects.filter(device__device_id=device_id)
        if last is not None:
            qs = qs.filter(seq__gt=last)
        rows = [(s, bytes(c)) for s, c in qs.order_by("seq").values_list("seq", "cbor")[:page]]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def audit_entries(device_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The access log, newest first; only one device's entries when ``device_id`` is given."""
    qs = AuditEntry.objects.all()
    if device_id is not None:
        qs = qs.filter(device_id=device_id)
    qs = qs.order_by("-ts", "-id").values("ts", "username", "action", "device_id", "remote_addr", "detail")
    return [dict(r) for r in (qs[:limit] if limit else qs)]
