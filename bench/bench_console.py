"""Console device page: server time for a device with 30 days of one-minute data.

43,200 batches x 6 snapshots (sampled every 10 s, reported every minute) = 259,200 sample rows
and 180 WAN drops with their field data, written as ingest would (tests/server/histories.py).
The page is requested through Django's full stack in process (middleware, session, audit entry,
diagnosis, SQL aggregation, SVG, template), so the figure is server time without the network.
Same-run references: the same page for a device with no data (Django + template + audit alone),
and the bare chart aggregation query. Target: <= 300 ms for the 30-day view.

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
    from django.test import Client
    from server import histories

    from zte_uxip.server.console import series
    from zte_uxip.server.store.models import Device, Sample

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

    u = User.objects.create_user("bench", password="x" * 16)
    u.groups.add(Group.objects.get_or_create(name="support")[0])
    c = Client(HTTP_HOST="127.0.0.1")
    c.force_login(u, backend="django.contrib.auth.backends.ModelBackend")

    def page(dev: str, rng: str):
        def go():
            r = c.get(f"/devices/{dev}/?range={rng}")
            assert r.status_code == 200, r.status_code
        return go

    month = Device.objects.get(device_id="month-01")
    now = int(time.time())
    ref_empty = timed(page("empty-01", "30d"))
    ref_sql = timed(lambda: series.load(month, "30d", now))
    figures = {"store": kind, "samples": rows, "fill_s": round(fill_s, 1),
               "empty_device_page_ms": round(ref_empty * 1000, 1), "chart_query_30d_ms": round(ref_sql * 1000, 1)}
    print(f"reference: empty device page {ref_empty * 1000:.1f} ms; bare 30-day chart query {ref_sql * 1000:.1f} ms")
    for rng in ("24h", "7d", "30d"):
        t = timed(page("month-01", rng))
        figures[f"page_{rng}_ms"] = round(t * 1000, 1)
        print(f"device page {rng:>3}: {t * 1000:7.1f} ms  = {t / ref_empty:5.1f}x empty page, "
              f"{t / ref_sql:4.1f}x the bare chart query   (target <= 300 ms)")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"console-{kind}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["page_30d_ms"] <= 300 else 1


if __name__ == "__main__":
    sys.exit(main())
