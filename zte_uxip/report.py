"""One report interval -> one batch.

The agent samples every ``sample_s`` but sends one summarised snapshot per ``report_s``: the
last sample, with what a single sample cannot show folded in (mean CPU over the report, peak
link rates between samples, min/mean/max signal). The batch carries no ``ts`` of its own: the
snapshot's and each event's are the ones that matter. The scheduler puts ``reports_per_batch`` of
these in one batch (the codec sends all but the first as differences); per-sample snapshots
would cost ~6x more.
"""

from __future__ import annotations

import copy
from typing import Any

import cbor2

from .wire import codec
from .wire.schema import BATCH, SNAPSHOT, Field, Kind, Privacy

Json = dict[str, Any]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


class Report:
    """Filtered snapshots of the current report interval, with their monotonic times."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, Json]] = []

    def __len__(self) -> int:
        return len(self.samples)

    def add(self, t_mono_s: float, snapshot: Json) -> None:
        self.samples.append((t_mono_s, snapshot))

    def clear(self) -> None:
        self.samples.clear()

    def strip_location(self) -> None:
        """The owner withdrew ``location``: nothing collected before leaves with it either."""
        for _t, snap in self.samples:
            strip_location_json(SNAPSHOT, snap)

    def summarise(self) -> Json | None:
        if not self.samples:
            return None
        t_last, last = self.samples[-1]
        out = copy.deepcopy(last)
        snaps = [s for _t, s in self.samples]
        cpu = [s["system"]["cpu_pct"] for s in snaps if isinstance(s.get("system"), dict) and "cpu_pct" in s["system"]]
        if cpu:
            out["system"]["cpu_pct"] = round(_mean(cpu), 1)
        self._link_rates(out)
        cell = out.get("cellular")
        if isinstance(cell, dict):
            for name, lo, hi, mean in (("rsrp_dbm", "rsrp_dbm_min", "rsrp_dbm_max", "rsrp_dbm_mean"),
                                       ("sinr_db", "sinr_db_min", "sinr_db_max", None)):
                vals = [s["cellular"][name] for s in snaps
                        if isinstance(s.get("cellular"), dict) and isinstance(s["cellular"].get(name), int | float)]
                if vals:
                    cell.setdefault(lo, min(vals))
                    cell.setdefault(hi, max(vals))
                    if mean:
                        cell.setdefault(mean, round(_mean(vals), 1))
        return out

    def _link_rates(self, out: Json) -> None:
        """Peak rx/tx rates between consecutive samples in the report (bits/s)."""
        links = out.get("links")
        if not isinstance(links, list):
            return
        # Only the peaks: the mean rate over a report follows from the *_total counters of
        # consecutive snapshots, and the last sample's own rate (rx_bps/tx_bps, one 10 s slice)
        # says little; each would cost bytes in every report's difference.
        for link in links:
            if isinstance(link, dict):
                link.pop("rx_bps", None)
                link.pop("tx_bps", None)
        if len(self.samples) < 2:
            return
        series: dict[str, list[tuple[float, int, int]]] = {}
        for t, s in self.samples:
            for link in s.get("links") or []:
                rx, tx = link.get("rx_bytes_total"), link.get("tx_bytes_total")
                if isinstance(rx, int) and isinstance(tx, int) and isinstance(link.get("name"), str):
                    series.setdefault(link["name"], []).append((t, rx, tx))
        for link in links:
            pts = series.get(link.get("name", ""), [])
            if len(pts) < 2:
                continue
            peaks_rx, peaks_tx = [], []
            for (t0, rx0, tx0), (t1, rx1, tx1) in zip(pts, pts[1:], strict=False):
                if t1 > t0 and rx1 >= rx0 and tx1 >= tx0:  # a counter reset gives no rate
                    peaks_rx.append(int(8 * (rx1 - rx0) / (t1 - t0)))
                    peaks_tx.append(int(8 * (tx1 - tx0) / (t1 - t0)))
            if peaks_rx:
                link.setdefault("rx_bps_peak", max(peaks_rx))
                link.setdefault("tx_bps_peak", max(peaks_tx))


def build_batch(*, device_id: str, seq: int, enabled: bool, location: bool, policy_version: str | None,
                snapshots: list[Json], events: list[Json], dropped_total: int) -> bytes:
    """The batch as DESIGN.md names it, encoded."""
    batch: Json = {
        "device_id": device_id,
        "seq": seq,
        "consent": {"enabled": enabled, "location": location, "policy_version": policy_version},
        "snapshots": snapshots,
        "events": events,
        "dropped_total": dropped_total,
    }
    return codec.encode_batch(batch)


def _strip_location(fields: tuple[Field, ...], obj: Any, wire: bool) -> None:
    """Remove every location-class field, in place, from a JSON-named (``wire=False``) or an
    integer-keyed (``wire=True``) map: one walk for both views."""
    if not isinstance(obj, dict):
        return
    key_type = int if wire else str
    index = {(f.key if wire else f.name): f for f in fields}
    for key in list(obj):
        f = index.get(key) if type(key) is key_type else None
        if f is None:
            continue
        if f.privacy is Privacy.LOCATION:
            del obj[key]
        elif f.kind is Kind.MAP:
            _strip_location(f.children, obj[key], wire)
        elif f.kind is Kind.LIST and isinstance(obj[key], list):
            for item in obj[key]:
                _strip_location(f.children, item, wire)


def strip_location_json(fields: tuple[Field, ...], obj: Any) -> None:
    """Remove every location-class field from a JSON-named snapshot, in place."""
    _strip_location(fields, obj, wire=False)


def strip_location_payload(data: bytes) -> bytes:
    """An encoded batch without location fields, and saying so in its consent map.

    Works on the integer-keyed wire maps, so the batch's snapshot diffs stay consistent (a key
    removed from the first snapshot is removed from every diff too).
    """
    m = codec.loads_limited(data)
    _strip_location(BATCH, m, wire=True)
    consent_f = next(f for f in BATCH if f.name == "consent")
    consent = m.get(consent_f.key)
    if isinstance(consent, dict):
        consent[consent_f.child("location").key] = False
    out: bytes = cbor2.dumps(m)
    codec.decode(out)  # still a valid batch, or this raises
    return out
