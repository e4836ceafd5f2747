"""Diagnosis: rules over a device's stored data -> findings and one health verdict.

One implementation for `zte-uxip-server diagnose` and the console's device page. Each finding
says what is wrong in plain words (``summary``), shows the ``evidence`` (times and values, for
a WAN drop the radio at the moment of the drop, from the event's field data) and what to do
next (``next_step``). The overall ``health`` follows OpenWISP's ok/problem/critical; ``score``
(0..100) is a uCentral-style sanity number. Thresholds live here as named constants.

The samples are read as hourly buckets re-aggregated from the five-minute rollups (rollup.py), so
a week of one-minute data costs 2,016 rollup rows, not a Python loop over every sample.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ..store.models import Device, Event, Tombstone
from ..store.queries import effective_state
from . import rollup

WINDOW_S = 7 * 86400            # what the rules look at, ending now
NORMAL_DROPS_PER_DAY = 2.0      # above this the WAN drops "more than normal"
CRITICAL_DROPS_PER_DAY = 10.0
POOR_RSRP_DBM = -110            # at or below: the cell edge, LTE drops become likely
POOR_SINR_DB = 0.0              # below: more noise than signal
HIGH_CPU_PCT = 90.0
HIGH_MEM_PCT = 90.0
SUSTAINED_H = 2                 # consecutive hourly averages above the bar
CRITICAL_SUSTAINED_H = 12
NO_SERVICE_SHARE = 0.05         # of the samples in the window
STOPPED_CRITICAL_S = 3 * 86400
MAX_EVENTS = 5000               # per diagnosis; the newest win
MAX_EVIDENCE = 10               # rows of evidence per finding

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
HEALTH_BY_SEVERITY = {"critical": "critical", "warning": "problem"}


@dataclass
class Finding:
    code: str
    severity: str  # info | warning | critical
    summary: str
    evidence: list[dict[str, Any]]
    next_step: str


@dataclass
class Diagnosis:
    device_id: str
    ts: int
    window_s: int
    health: str  # ok | problem | critical | unknown
    score: int
    state: str
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def radio_at(snapshot: Any) -> dict[str, Any]:
    """The cellular field data at an event (values only, nothing invented)."""
    cell = snapshot.get("cellular") if isinstance(snapshot, dict) else None
    if not isinstance(cell, dict):
        return {}
    out = {k: cell[k] for k in ("rat", "rsrp_dbm", "sinr_db", "rsrq_db", "registration", "cell_id", "plmn")
           if cell.get(k) is not None}
    return out


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def poor_radio(radio: dict[str, Any]) -> bool:
    rsrp, sinr = _num(radio.get("rsrp_dbm")), _num(radio.get("sinr_db"))
    return (rsrp is not None and rsrp < POOR_RSRP_DBM) or (sinr is not None and sinr < POOR_SINR_DB)


def _hourly(device: Device, start: int, now: int) -> list[dict[str, Any]]:
    rollup.update(device)
    rows = rollup.buckets(device, start - start % 3600, now + 1, 3600)
    for r in rows:
        r["h"] = r["b"]
    return rows


def _longest_run(hours: list[dict[str, Any]], key: str, bar: float) -> tuple[int, dict[str, Any] | None, float]:
    """Longest run of consecutive hours whose average ``key`` is >= bar: (hours, first row, peak)."""
    best, best_start, best_peak = 0, None, 0.0
    run, run_start, run_peak, prev_h = 0, None, 0.0, None
    for row in hours:
        v = row[key]
        if v is not None and v >= bar:
            if run and prev_h is not None and row["h"] == prev_h + 1:
                run += 1
                run_peak = max(run_peak, v)
            else:
                run, run_start, run_peak = 1, row, v
            if run > best:
                best, best_start, best_peak = run, run_start, run_peak
        else:
            run = 0
        prev_h = row["h"]
    return best, best_start, best_peak


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _fmt_bytes(n: Any) -> str:
    v = _num(n)
    return "?" if v is None else f"{v / 1e9:.2f} GB"


class _Rules:
    """Each rule appends at most one finding."""

    def __init__(self, device: Device, now: int, window_s: int, offline_after_s: int) -> None:
        self.d, self.now, self.window_s, self.offline_after_s = device, now, window_s, offline_after_s
        self.start = now - window_s
        self.findings: list[Finding] = []
        rows = list(
            Event.objects.filter(device=device, ts__gte=self.start)
            .order_by("-ts").values("kind", "ts", "duration_s", "cause", "fields", "snapshot")[:MAX_EVENTS]
        )
        rows.reverse()
        self.events: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            self.events.setdefault(r["kind"], []).append(r)
        self.hours = _hourly(device, self.start, now)
        self.samples = sum(h["n"] for h in self.hours)

    def add(self, code: str, severity: str, summary: str, evidence: list[dict[str, Any]], next_step: str) -> None:
        self.findings.append(Finding(code, severity, summary, evidence[-MAX_EVIDENCE:], next_step))

    # ---------------------------------------------------------------- WAN drops
    def drops(self) -> None:
        drops = self.events.get("wan_down", [])
        if not drops:
            return
        first = min([drops[0]["ts"], *(h["first"] for h in self.hours[:1])])
        days = max(1.0, (self.now - max(self.start, first)) / 86400)
        per_day = len(drops) / days
        causes = Counter(d["cause"] or "unknown" for d in drops)
        radios = [(d, radio_at(d["snapshot"])) for d in drops]
        poor = [(d, r) for d, r in radios if poor_radio(r)]
        if per_day > NORMAL_DROPS_PER_DAY:
            breakdown = ", ".join(f"{c} {n}" for c, n in causes.most_common())
            by_day = Counter(d["ts"] // 86400 for d in drops)
            worst_day, worst_n = max(by_day.items(), key=lambda kv: kv[1])
            if poor and len(poor) * 2 >= len(drops):
                nxt = ("Most drops happen at poor signal: check the router's placement and antenna "
                       "(near a window, external antenna), and the serving cell's coverage with the radio team.")
            elif causes.most_common(1)[0][0] in ("carrier_lost", "admin_down"):
                nxt = ("The link itself goes down at good signal: check the WAN cable/port or the modem, "
                       "then the ISP line.")
            else:
                nxt = ("Drops at good signal (route or address lost): check the APN/PDP context and the "
                       "operator's core network for this subscriber; run the `link` and `modem` diagnostics.")
            self.add(
                "wan_drops", "critical" if per_day > CRITICAL_DROPS_PER_DAY else "warning",
                f"The WAN dropped {_times(len(drops))} in {days:.0f} days ({per_day:.1f} per day; normal is at most "
                f"{NORMAL_DROPS_PER_DAY:.0f}). Causes: {breakdown}. {len(poor)} of {len(drops)} at poor signal.",
                [{"ts": worst_day * 86400, "what": "worst day", "drops": worst_n},
                 *({"ts": d["ts"], "cause": d["cause"] or "unknown", "duration_s": d["duration_s"], **r}
                   for d, r in radios[-(MAX_EVIDENCE - 1):])],
                nxt,
            )
        if poor:
            share = len(poor) / len(drops)
            cells = Counter(r.get("cell_id") for _, r in poor if r.get("cell_id") is not None)
            cell_note = f" Most on cell {cells.most_common(1)[0][0]}." if cells else ""
            self.add(
                "drops_poor_radio", "warning" if share >= 0.5 else "info",
                f"{len(poor)} of {len(drops)} WAN drops happened at poor radio (RSRP below {POOR_RSRP_DBM} dBm "
                f"or SINR below {POOR_SINR_DB:.0f} dB at the moment of the drop).{cell_note}",
                [{"ts": d["ts"], "cause": d["cause"] or "unknown", "duration_s": d["duration_s"], **r}
                 for d, r in poor],
                "Improve the radio path: move the router closer to a window or higher, fit an external antenna, "
                "or lock a better band; if many customers on this cell see it, raise it with the radio team.",
            )

    # ---------------------------------------------------------------- cellular
    def cellular(self) -> None:
        n = self.samples
        if not n:
            return
        denied = [h for h in self.hours if h["denied"]]
        if denied:
            c = sum(h["denied"] for h in denied)
            self.add(
                "registration_denied", "critical",
                f"The network refused the SIM's registration ({c} of {n} samples, {len(denied)} hours).",
                [{"ts": h["first"], "samples_denied": h["denied"]} for h in denied],
                "Check the subscription and SIM with the operator (barred, not provisioned, IMEI lock); "
                "run the `modem` diagnostic for the reject cause.",
            )
        no_svc = [h for h in self.hours if h["no_service"]]
        c = sum(h["no_service"] for h in no_svc)
        if no_svc and c / n >= NO_SERVICE_SHARE:
            self.add(
                "no_service", "critical" if c / n >= 0.5 else "warning",
                f"No mobile service for {c / n:.0%} of the samples (not registered or searching), "
                f"in {len(no_svc)} hours.",
                [{"ts": h["first"], "samples_without_service": h["no_service"], "samples": h["n"]} for h in no_svc],
                "Check coverage at the customer's address and the SIM; if signal is also poor, see the radio finding.",
            )
        roam = [h for h in self.hours if h["roaming"]]
        c = sum(h["roaming"] for h in roam)
        if roam:
            self.add(
                "roaming", "warning" if c / n >= 0.5 else "info",
                f"The router was roaming for {c / n:.0%} of the samples: data may be charged or throttled, "
                "and the agent holds its reports while roaming.",
                [{"ts": h["first"], "samples_roaming": h["roaming"], "samples": h["n"]} for h in roam],
                "Check that the SIM is the customer's home operator's and the home network is selectable "
                "(border area: lock the network selection to the home PLMN).",
            )
        det = [h for h in self.hours if h["detached"]]
        det_drops = [d for d in self.events.get("wan_down", []) if d["cause"] == "modem_detached"]
        if det or det_drops:
            c = sum(h["detached"] for h in det)
            self.add(
                "modem_detached", "warning",
                f"The modem detached from the packet network ({c} samples detached, "
                f"{len(det_drops)} WAN drops caused by it).",
                [*({"ts": h["first"], "samples_detached": h["detached"]} for h in det),
                 *({"ts": d["ts"], "cause": "modem_detached", "duration_s": d["duration_s"],
                    **radio_at(d["snapshot"])} for d in det_drops)],
                "Run the `modem` diagnostic; check the APN and the data plan; a modem firmware update may be due.",
            )

    # ---------------------------------------------------------------- device events
    def device_events(self) -> None:
        ev = self.events
        if ev.get("data_limit_exceeded"):
            last = ev["data_limit_exceeded"][-1]
            f = last["fields"] or {}
            self.add(
                "data_limit_exceeded", "warning",
                f"The data limit of the billing cycle was exceeded ({_fmt_bytes(f.get('usage_cycle_bytes'))} "
                f"used of {_fmt_bytes(f.get('limit_bytes'))}): the operator may be throttling the line.",
                [{"ts": e["ts"], "usage_cycle_bytes": (e["fields"] or {}).get("usage_cycle_bytes"),
                  "limit_bytes": (e["fields"] or {}).get("limit_bytes")} for e in ev["data_limit_exceeded"]],
                "Tell the customer; offer a larger plan or an add-on; slow speeds until the cycle resets are expected.",
            )
        if ev.get("version_too_low"):
            last = ev["version_too_low"][-1]
            f = last["fields"] or {}
            self.add(
                "version_too_low", "warning",
                f"The router runs software {f.get('sw_version', '?')}, below the minimum {f.get('min_version', '?')}.",
                [{"ts": last["ts"], "sw_version": f.get("sw_version"), "min_version": f.get("min_version")}],
                "Update the router's firmware (remote upgrade, or ask the customer to update from the WebUI).",
            )
        restarts = ev.get("unexpected_restart", [])
        if restarts:
            self.add(
                "unexpected_restarts", "critical" if len(restarts) >= 3 else "warning",
                f"The router restarted unexpectedly {_times(len(restarts))} (power loss, crash or watchdog).",
                [{"ts": e["ts"], "previous_uptime_s": (e["fields"] or {}).get("previous_uptime_s")} for e in restarts],
                "Ask about power cuts and the power supply; check for overheating; if it recurs at a steady "
                "uptime, update the firmware.",
            )
        drv = ev.get("wifi_driver_error", [])
        if drv:
            self.add(
                "wifi_driver_error", "warning",
                f"The Wi-Fi driver failed {_times(len(drv))} (interface vanished or firmware restarted).",
                [{"ts": e["ts"], "iface": (e["fields"] or {}).get("iface"), "cause": e["cause"] or None,
                  "count": (e["fields"] or {}).get("count")} for e in drv],
                "Restart the router once; if it recurs, update the firmware or replace the unit.",
            )
        weak = ev.get("wifi_weak_password", [])
        if weak:
            self.add(
                "wifi_weak_password", "warning",
                "The Wi-Fi password is weak: neighbours could join and use the customer's data.",
                [{"ts": e["ts"], "iface": (e["fields"] or {}).get("iface"),
                  "reason": (e["fields"] or {}).get("reason")} for e in weak],
                "Ask the customer to set a long, unique Wi-Fi password (WPA2 or WPA3) in the WebUI or the app.",
            )
        short = ev.get("wifi_short_range", [])
        if short:
            self.add(
                "wifi_short_range", "warning" if len(short) >= 3 else "info",
                f"Wi-Fi clients are far from the router: their median signal stayed below the floor "
                f"{_times(len(short))}.",
                [{"ts": e["ts"], "iface": (e["fields"] or {}).get("iface"),
                  "signal_dbm_median": (e["fields"] or {}).get("signal_dbm_median"),
                  "floor_dbm": (e["fields"] or {}).get("floor_dbm")} for e in short],
                "Move the router to a central spot, prefer 2.4 GHz for distant rooms, or add a mesh/extender.",
            )

    # ---------------------------------------------------------------- system
    def system(self) -> None:
        for code, key, bar, what in (("high_cpu", "cpu", HIGH_CPU_PCT, "CPU"),
                                     ("high_memory", "mem", HIGH_MEM_PCT, "memory")):
            hours, first, peak = _longest_run(self.hours, key, bar)
            if hours >= SUSTAINED_H and first is not None:
                self.add(
                    code, "critical" if hours >= CRITICAL_SUSTAINED_H else "warning",
                    f"{what} use stayed at or above {bar:.0f}% for {hours} hours in a row (peak hourly average "
                    f"{peak:.0f}%): the router is overloaded and may drop traffic.",
                    [{"ts": first["first"], "hours": hours, f"{key}_pct_peak_hourly_avg": round(peak, 1)}],
                    "Restart the router; if it comes back, check for a runaway process via the `selftest` "
                    "diagnostic and update the firmware.",
                )

    def reporting(self, state: str, consent_enabled: bool) -> None:
        silent_s = self.now - self.d.last_seen_ts
        if state == "consent_withdrawn" or not consent_enabled or silent_s <= self.offline_after_s:
            return
        self.add(
            "stopped_reporting", "critical" if silent_s >= STOPPED_CRITICAL_S else "warning",
            f"The router stopped reporting {silent_s / 3600:.1f} hours ago although the owner is opted in.",
            [{"ts": self.d.last_seen_ts, "last_seen": True, "state": self.d.state}],
            "Ask whether the router is powered and online; a dead WAN or a crashed agent looks like this. "
            "If it is online, restart it and check `selftest`.",
        )


def diagnose(device_id: str, *, now: int | None = None, window_s: int = WINDOW_S,
             offline_after_s: int = 900) -> Diagnosis | None:
    """The findings for one device, worst first; None if the store does not know it."""
    now = int(time.time()) if now is None else now
    device = Device.objects.filter(device_id=device_id).first()
    if device is None:
        t = Tombstone.objects.filter(device_id=device_id).first()
        if t is None:
            return None
        return Diagnosis(device_id, now, window_s, "unknown", 0, "consent_withdrawn")
    state = effective_state(device, now, offline_after_s)
    last_batch = device.batches.order_by("-seq").values("consent_enabled").first()
    rules = _Rules(device, now, window_s, offline_after_s)
    rules.drops()
    rules.cellular()
    rules.device_events()
    rules.system()
    rules.reporting(state, bool(last_batch["consent_enabled"]) if last_batch else True)
    findings = sorted(rules.findings, key=lambda f: SEVERITY_ORDER[f.severity])
    health = "ok"
    for f in findings:
        if f.severity in HEALTH_BY_SEVERITY:
            health = HEALTH_BY_SEVERITY[f.severity]
            break
    penalty = {"critical": 40, "warning": 15, "info": 3}
    score = max(0, 100 - sum(penalty[f.severity] for f in findings))
    return Diagnosis(device_id, now, window_s, health, score, state, findings)
