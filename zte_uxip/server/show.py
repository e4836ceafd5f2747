"""`zte-uxip-server show DEVICE [--since DURATION] [--json]`: a device's timeline for support.

The header (state, last seen, model, firmware, agent), a table of the window — sample by
sample up to 3 h, per hour beyond (WAN up, RAT, PLMN, RSRP/SINR, rates, CPU/memory, Wi-Fi
clients) — then the WAN disconnects with cause, duration and the field data at the drop, and
the other events. Every `show` is an audit entry (the CLI user, from `cli`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from . import common
from .textfmt import clean, num, parse_duration, rate, when


def add_parser(sub: Any) -> None:
    p = sub.add_parser("show", help="a device's timeline: state, signal, WAN, rates, disconnects")
    common.add_config(p)
    p.add_argument("device")
    p.add_argument("--since", default="24h", help="window ending now: 30d, 24h, 90m (default 24h)")
    p.add_argument("--json", action="store_true", help="structured output")


def collect(device_id: str, since_s: int, now: int, offline_after_s: int) -> dict[str, Any] | None:
    """Everything `show` prints, as one dict (also the --json output)."""
    from .store import queries

    summary = queries.device_summary(device_id, now, offline_after_s)
    if summary is None:
        return None
    since_ts = now - since_s
    return {
        "device": summary,
        "since_ts": since_ts,
        "until_ts": now,
        "timeline": queries.timeline(device_id, since_ts, now + 1),
        "disconnects": queries.disconnects(device_id, since_ts, now + 1),
        "events": [e for e in queries.events(device_id, since_ts, now + 1) if e["kind"] != "wan_down"],
    }


def run(args: argparse.Namespace) -> int:
    device_id = common.device_arg(args.device)
    since_s = parse_duration(args.since)
    cfg = common.store_setup(args)
    from .store.audit import record

    now = common.now()
    view = collect(device_id, since_s, now, cfg.console.offline_after_s)
    if view is None:
        raise common.InputError(f"unknown device {device_id}")
    record("view", username=common.cli_user(), remote_addr="cli", device_id=device_id, ts=now,
           detail=f"show --since {args.since}")
    if args.json:
        print(json.dumps(view, indent=2))
    else:
        print(render(view), end="")
    return 0


def render(view: dict[str, Any]) -> str:
    d = view["device"]
    lines = [f"device   {d['device_id']}   state {d['state']}   region {d.get('region', '-')}"]
    if d["state"] == "consent_withdrawn" and "withdrawn_ts" in d:
        lines.append(f"consent withdrawn at {when(d['withdrawn_ts'])} UTC (policy {d['policy_version'] or '-'}); "
                     "its data was erased, nothing is held")
        return "\n".join(lines) + "\n"
    lines += [
        f"seen     first {when(d['first_seen_ts'])}   last {when(d['last_seen_ts'])}   "
        f"newest sample {when(d['last_sample_ts'])} (UTC)",
        clean(f"device   {d['manufacturer'] or '-'} {d['model'] or '-'}   firmware {d['sw_version'] or '-'}   "
              f"agent {d['agent_version'] or '-'}"),
        f"consent  policy {clean(d['policy_version']) or '-'}   location {'on' if d['location_enabled'] else 'off'}   "
        f"batches held {d['batches']}   spool dropped {d['dropped_total']}",
        "",
    ]
    tl = view["timeline"]
    lines.append(f"{'sample by sample' if tl['every'] == 'sample' else 'per hour'}, "
                 f"{when(view['since_ts'])} .. {when(view['until_ts'])} UTC ({len(tl['rows'])} rows)")
    if tl["every"] == "sample":
        lines.append(f"{'TIME (UTC)':<19} {'WAN':<4} {'RAT':<9} {'PLMN':<7} {'RSRP':>5} {'SINR':>5} "
                     f"{'RX':>7} {'TX':>7} {'CPU%':>5} {'MEM%':>5} {'WIFI':>4}")
        for r in tl["rows"]:
            lines.append(f"{when(r['ts']):<19} {num(r['wan_up']):<4} {num(r['rat']):<9} {num(r['plmn']):<7} "
                         f"{num(r['rsrp_dbm']):>5} {num(r['sinr_db']):>5} {rate(r['rx_bps']):>7} "
                         f"{rate(r['tx_bps']):>7} {num(r['cpu_pct']):>5} {num(r['mem_used_pct']):>5} "
                         f"{num(r['wifi_clients']):>4}")
    else:
        lines.append(f"{'HOUR (UTC)':<16} {'N':>3} {'WAN UP%':>7} {'RAT':<9} {'PLMN':<7} {'RSRP':>5} "
                     f"{'MIN':>5} {'SINR':>5} {'RX':>7} {'RXPK':>7} {'TX':>7} {'CPU%':>5} {'MEM%':>5} {'WIFI':>4}")
        for r in tl["rows"]:
            lines.append(f"{when(r['ts'])[:16]:<16} {r['samples']:>3} {num(r['wan_up_pct']):>7} "
                         f"{num(r['rat']):<9} {num(r['plmn']):<7} {num(r['rsrp_dbm_mean']):>5} "
                         f"{num(r['rsrp_dbm_min']):>5} {num(r['sinr_db_mean']):>5} {rate(r['rx_bps_mean']):>7} "
                         f"{rate(r['rx_bps_peak']):>7} {rate(r['tx_bps_mean']):>7} {num(r['cpu_pct_mean']):>5} "
                         f"{num(r['mem_used_pct_max']):>5} {num(r['wifi_clients_max']):>4}")
    lines += ["", f"disconnects: {len(view['disconnects'])}"]
    for e in view["disconnects"]:
        lines.append(clean(f"  {when(e['ts'])}  {num(e['duration_s'])} s  cause {e['cause'] or '-'}  "
                           f"field data: {_field_data(e['snapshot'])}"))
    if view["events"]:
        lines += ["", f"other events: {len(view['events'])}"]
        for e in view["events"]:
            extra = " ".join(f"{k}={v}" for k, v in sorted((e["fields"] or {}).items()))
            lines.append(clean(f"  {when(e['ts'])}  {e['kind']}  {e['cause'] or ''} {extra}".rstrip()))
    return "\n".join(lines) + "\n"


def _field_data(snap: dict[str, Any] | None) -> str:
    """The few facts support reads first from the snapshot taken at the drop."""
    if not snap:
        return "-"
    cell = snap.get("cellular") or {}
    wan = snap.get("wan") or {}
    parts = [f"wan {wan.get('iface', '-')}", f"rat {cell.get('rat', '-')}", f"plmn {cell.get('plmn', '-')}",
             f"rsrp {cell.get('rsrp_dbm', '-')} dBm", f"sinr {cell.get('sinr_db', '-')} dB",
             f"registration {cell.get('registration', '-')}"]
    return ", ".join(parts)
