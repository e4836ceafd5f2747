"""Console device page: server time for a device with 30 days of one-minute data.

43,200 batches x 6 snapshots (sampled every 10 s, reported every minute) = 259,200 sample rows
and 180 WAN drops with their field data, written as ingest would (tests/server/histories.py).
The page is requested through Django's full stack in process (middleware, session, audit entry,
diagnosis, SQL aggregation, SVG, template), so the figure is server time without the network.
Same-run references: the same page for a device with no data (Django + template + audit alone),
the chart query alone, and one plain AVG over the month's raw samples (what a page without
rollups would pay per column group). The one-time rollup catch-up of a month that was never
rolled up, and the per-batch cost of keeping rollups current, are reported too. Target: <= 300 ms for the 30-day view.

BENCH_STORE=postgresql runs it on a throwaway PostgreSQL 15 cluster instead of SQLite.
Results also land in bench/results/console.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
RUNS = int(os.environ.get("BENCH_RUNS", "9"))


def timed(fn, runs: int = RUNS) -> float:
    """Median seconds over ``runs`` after two warm-up calls."""
    for _ in range(2):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="uxbench-console-"))
    kind = os.environ.get("BENCH_STORE", "sqlite")
    pg = None
    if kind == "postgresql":
        import pgcluster

        why = pgcluster.skip_reason()
        if why:
            print(f"bench_console: {why}")
            return 1
        pg = pgcluster.PgCluster().start()
        url = pg.createdb("uxbench")
    else:
        url = f"sqlite:///{tmp}/server.sqlite3"
    try:
        return run(tmp, url, kind)
    finally:
        if pg is not None:
            pg.stop()


def run(tmp: Path, url: str, kind: str) -> int:
    from zte_uxip.server import boot, conf

    cfg = conf.from_dict({"store": {"url": url}, "console": {"secret_key_file": str(tmp / "secret")}})
    boot.setup(cfg, console=True)
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.db.models import Avg
    from django.test import Client
    from server import histories

    from zte_uxip.server.console import rollup, series
    from zte_uxip.server.store.models import Batch, Device, Sample

    t0 = time.perf_counter()
    h = histories.poor_radio_drops("month-01", days=30)
    h.step_s, h.per_batch, h.encode = 10, 6, False
    histories.build(h)
    fill_s = time.perf_counter() - t0
    empty = histories.History("empty-01", days=0)
    histories.build(empty)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    rows = Sample.objects.filter(device__device_id="month-01").count()
    print(f"store: {kind}; month-01: {rows} samples, {h.days:g} days, filled in {fill_s:.0f} s")
    month = Device.objects.get(device_id="month-01")
    t0 = time.perf_counter()
    rolled = rollup.update(month)  # a month never rolled up: what the first page view pays
    catch_up_s = time.perf_counter() - t0
    print(f"rollup catch-up of the whole month: {rolled} buckets in {catch_up_s * 1000:.0f} ms (once)")
    last = Batch.objects.filter(device=month).order_by("-seq").first()
    ts0 = last.sampled_ts + 60

    def one_more_batch():  # what ingest pays per batch to keep the rollups current
        nonlocal ts0
        b = Batch.objects.create(device=month, seq=last.seq + 1 + ts0, received_ts=ts0 + 60, sampled_ts=ts0,
                                 region="eu", cbor=b"\xa0")
        facts = [histories.sample_facts(histories.snapshot(ts0 + 10 * i)) for i in range(6)]
        Sample.objects.bulk_create([Sample(device=month, batch=b, **f) for f in facts])
        ts0 += 60
        t = time.perf_counter()
        rollup.update(month)
        return time.perf_counter() - t

    per_batch = statistics.median([one_more_batch() for _ in range(9)])
    print(f"rollup update per new batch: {per_batch * 1000:.1f} ms")

    u = User.objects.create_user("bench", password="x" * 16)
    u.groups.add(Group.objects.get_or_create(name="support")[0])
    c = Client(HTTP_HOST="127.0.0.1")
    c.force_login(u, backend="django.contrib.auth.backends.ModelBackend")

    def page(dev: str, rng: str):
        def go():
            r = c.get(f"/devices/{dev}/?range={rng}")
            assert r.status_code == 200, r.status_code
        return go

    now = int(time.time())
    ref_empty = timed(page("empty-01", "30d"))
    month_filter = Sample.objects.filter(device=month, ts__gte=now - 30 * 86400)
    ref_raw = timed(lambda: month_filter.aggregate(a=Avg("rsrp_dbm"), b=Avg("sinr_db"), c=Avg("cpu_pct")), 3)
    ref_sql = timed(lambda: series.load(month, "30d", now))
    figures = {"store": kind, "samples": rows, "fill_s": round(fill_s, 1), "catch_up_ms": round(catch_up_s * 1000),
               "rollup_per_batch_ms": round(per_batch * 1000, 2),
               "empty_device_page_ms": round(ref_empty * 1000, 1), "chart_query_30d_ms": round(ref_sql * 1000, 1),
               "raw_avg_3_columns_30d_ms": round(ref_raw * 1000, 1)}
    print(f"reference: empty device page {ref_empty * 1000:.1f} ms; 30-day chart query on the rollups "
          f"{ref_sql * 1000:.1f} ms; AVG of 3 columns over the month's raw samples {ref_raw * 1000:.1f} ms")
    for rng in ("24h", "7d", "30d"):
        t = timed(page("month-01", rng))
        figures[f"page_{rng}_ms"] = round(t * 1000, 1)
        print(f"device page {rng:>3}: {t * 1000:7.1f} ms  = {t / ref_empty:5.1f}x empty page, "
              f"{t / ref_raw:4.2f}x one raw 3-column AVG over the month   (target <= 300 ms)")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"console-{kind}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["page_30d_ms"] <= 300 else 1


if __name__ == "__main__":
    sys.exit(main())
