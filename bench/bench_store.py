"""The store at scale, on SQLite and on PostgreSQL 15, each figure beside a same-run reference.

1. One device holding 12 months of one-minute batches (525,600 by default, BENCH_YEAR_BATCHES):
   `zte-uxip-server show --since 30d` (target <= 1 s), `show --since 24h`, `export` (time and
   size) and `erase`, run as the real console script. References, same run, same rows: a bare
   `SELECT count(*)` over the 30 days of samples `show` aggregates; reading the same 525,600
   CBOR blobs with the bare driver (what `export` must at least do); `zte-uxip-server devices`
   (the verb's fixed cost: interpreter, Django, schema check).
2. The retention sweep of a month of a 1,000-device store (BENCH_RET_DEVICES): two months of
   batches, BENCH_RET_PER_DAY per device and day (default 24, one an hour: the full one-minute
   rate, 1,440, would be 43 M rows a month, more than this shared 2-core VM can generate in a
   session), swept at 30 days by `zte-uxip-server retention`. Reference: the database doing the
   equivalent delete as two bare SQL statements on an identical copy of the tables.

Batches are real CBOR (the codec's encoding of a 4-link LTE router snapshot, seq/ts/signal
varied per batch through cbor2), Sample/Event rows as ingest derives them
(tests/storefill.py), loaded with executemany (SQLite) or COPY (PostgreSQL). PostgreSQL is the
tests' throwaway cluster (tests/pgcluster.py: fsync off). Results: bench/results/store.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import cbor2  # noqa: E402
import storefill  # noqa: E402

from zte_uxip.wire import codec  # noqa: E402

BIN = Path(sys.executable).parent
SERVER = str(BIN / "zte-uxip-server")
YEAR_BATCHES = int(os.environ.get("BENCH_YEAR_BATCHES", "525600"))
RET_DEVICES = int(os.environ.get("BENCH_RET_DEVICES", "1000"))
RET_PER_DAY = int(os.environ.get("BENCH_RET_PER_DAY", "24"))
DBS = os.environ.get("BENCH_DBS", "sqlite,postgresql").split(",")
PARTS = os.environ.get("BENCH_PARTS", "year,retention").split(",")
NOW = storefill.T0 + 400 * 86400
CHUNK = 20_000
SAMPLE_COLS = list(storefill.sample_row(storefill.snapshot(0)).keys())


def log(msg: str) -> None:
    print(f"  {msg}", flush=True)


# ------------------------------------------------------------------ generating realistic rows


class Template:
    """One encoded batch of a device, re-encoded per seq with its own ts, signal and CPU."""

    def __init__(self, device_id: str) -> None:
        self.wire = cbor2.loads(storefill.batch(device_id, 1, [storefill.snapshot(storefill.T0)]))
        self.row = storefill.sample_row(codec.decode(storefill.batch(device_id, 1,
                                                                     [storefill.snapshot(storefill.T0)]))["snapshots"][0])

    def batch(self, seq: int, ts: int) -> tuple[bytes, dict[str, Any]]:
        snap = self.wire[5][0]
        rsrp = -85 - (seq * 7) % 30
        cpu_tenths = 20 + (seq * 13) % 400
        snap[2], snap[3] = ts, 86_400 + seq * 60
        snap[8][10], snap[4][1] = rsrp, cpu_tenths
        self.wire[3] = seq
        row = dict(self.row, ts=ts, uptime_s=86_400 + seq * 60, rsrp_dbm=rsrp, cpu_pct=cpu_tenths / 10)
        return cbor2.dumps(self.wire), row


class Loader:
    """Bulk inserts through the configured Django connection: executemany or COPY."""

    def __init__(self) -> None:
        from django.db import connection

        self.conn = connection
        self.pg = connection.vendor == "postgresql"

    def load(self, table: str, cols: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
        n = 0
        if self.pg:
            self.conn.ensure_connection()
            raw = self.conn.connection
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
                    n += 1
            raw.commit()
            return n
        from django.db import transaction

        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
        with transaction.atomic(), self.conn.cursor() as cur:
            buf: list[tuple[Any, ...]] = []
            for r in rows:
                buf.append(r)
                if len(buf) >= CHUNK:
                    cur.executemany(sql, buf)
                    n += len(buf)
                    buf.clear()
            if buf:
                cur.executemany(sql, buf)
                n += len(buf)
        return n

    def sql(self, q: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(q, params or [])
            return cur.fetchall() if cur.description else []

    def fix_sequences(self, tables: list[str]) -> None:
        if self.pg:
            for t in tables:
                self.sql(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))")


def add_device(device_id: str, n: int, last_ts: int) -> int:
    from zte_uxip.server.store.models import Device

    d = Device.objects.create(device_id=device_id, region="eu", first_seen_ts=last_ts - n * 60,
                              last_seen_ts=last_ts, last_sample_ts=last_ts, batches_total=n, manufacturer="ZTE",
                              model="MF289F", sw_version="BD_MF289F_V1.0", agent_version="0.1.0",
                              policy_version="2")
    return int(d.pk)


def fill(loader: Loader, devices: list[tuple[int, str]], per_device: int, step_s: int, first_id: int,
         last_ts: int) -> int:
    """Batches, then samples, then one wan_down event a day, for each device; returns rows."""
    batch_cols = ["id", "device_id", "seq", "received_ts", "sampled_ts", "snapshots", "consent_enabled",
                  "consent_location", "policy_version", "dropped_total", "region", "cbor"]
    sample_cols = ["batch_id", "device_id", *SAMPLE_COLS]
    samples: list[tuple[Any, ...]] = []
    spill = tempfile.TemporaryFile()  # sample rows wait here while batches stream in

    templates = [Template(device_id) for _, device_id in devices]
    start = last_ts - (per_device - 1) * step_s

    def order() -> Iterator[tuple[int, int]]:
        """(batch index, device index) in arrival order: time-major, the devices interleaved, as
        ingest writes them (a device-major load would scatter every time window over the table)."""
        for i in range(per_device):
            for k in range(len(devices)):
                yield i, k

    def batches() -> Iterator[tuple[Any, ...]]:
        bid = first_id
        for i, k in order():
            pk, ts = devices[k][0], start + i * step_s
            cbor, row = templates[k].batch(i + 1, ts)
            yield (bid, pk, i + 1, ts + 2, ts, 1, True, True, "2", 0, "eu", cbor)
            samples.append((bid, pk, *(row[c] for c in SAMPLE_COLS)))
            if len(samples) >= CHUNK:
                spill.write(cbor2.dumps(samples))
                samples.clear()
            bid += 1

    n = loader.load("store_batch", batch_cols, batches())
    if samples:
        spill.write(cbor2.dumps(samples))
        samples.clear()

    def sample_rows() -> Iterator[tuple[Any, ...]]:
        spill.seek(0)
        dec = cbor2.CBORDecoder(spill)
        while True:
            try:
                chunk = dec.decode()
            except cbor2.CBORDecodeEOF:
                return
            for r in chunk:
                r = list(r)
                r[-1] = json.dumps(r[-1]) if r[-1] is not None else None  # wifi_clients_by_radio: JSON
                yield tuple(r)

    loader.load("store_sample", sample_cols, sample_rows())
    day_s = 86400

    def event_rows() -> Iterator[tuple[Any, ...]]:
        bid = first_id
        for i, k in order():
            pk, ts = devices[k][0], start + i * step_s
            if ts // day_s != (ts - step_s) // day_s:  # the first batch of each day
                snap = json.dumps(storefill.wan_down(ts, 95)["snapshot"])
                yield (bid, pk, "wan_down", ts, 95, "carrier_lost", "{}", snap)
            bid += 1

    loader.load("store_event", ["batch_id", "device_id", "kind", "ts", "duration_s", "cause", "fields", "snapshot"],
                event_rows())
    loader.fix_sequences(["store_batch", "store_sample", "store_event"])
    return n


# ------------------------------------------------------------------ measuring


def timed_cli(config: Path, *args: str, repeat: int = 1, now: int = NOW) -> tuple[float, int, str]:
    """Median wall seconds of the real console script, bytes of stdout, and its stderr."""
    times, size, err = [], 0, ""
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run([SERVER, *args, "--config", str(config)], capture_output=True,
                           env={**os.environ, "ZTE_UXIP_SERVER_NOW": str(now)}, timeout=3600)
        times.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise RuntimeError(f"{args}: {r.stderr.decode()}")
        size, err = len(r.stdout), r.stderr.decode()
    return statistics.median(times), size, err


def timed(fn: Any, repeat: int = 3) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def write_config(dir: Path, url: str) -> Path:
    cfg = dir / "server.toml"
    cfg.write_text(f'region = "eu"\n[store]\nurl = "{url}"\n[retention]\ndays = 30\n'
                   f'[console]\nsecret_key_file = "{dir / "console.secret"}"\n')
    return cfg


def setup_django(config: Path) -> Loader:
    from zte_uxip.server import boot, conf

    boot.setup(conf.load(config))
    return Loader()


def bench_year(kind: str, url: str, dir: Path) -> dict[str, Any]:
    """Run in a child process per database (Django is configured once per process)."""
    config = write_config(dir, url)
    loader = setup_django(config)
    res: dict[str, Any] = {"batches": YEAR_BATCHES}
    t = time.perf_counter()
    pk = add_device("zx-year", YEAR_BATCHES, NOW - 60)
    fill(loader, [(pk, "zx-year")], YEAR_BATCHES, 60, 1, NOW - 60)
    res["load_s"] = round(time.perf_counter() - t, 1)
    loader.sql("ANALYZE")
    log(f"{kind}: loaded {YEAR_BATCHES} batches + samples + events in {res['load_s']} s")
    since = NOW - 30 * 86400
    res["ref_count_30d_s"] = timed(lambda: loader.sql(
        "SELECT count(*) FROM store_sample WHERE device_id = %s AND ts >= %s", [pk, since]))
    res["ref_cli_devices_s"], _, _ = timed_cli(config, "devices", repeat=3)
    res["show_30d_s"], res["show_30d_bytes"], _ = timed_cli(config, "show", "zx-year", "--since", "30d", repeat=3)
    res["show_30d_json_s"], res["show_30d_json_bytes"], _ = timed_cli(config, "show", "zx-year", "--since", "30d",
                                                                      "--json", repeat=3)
    res["show_24h_s"], res["show_24h_bytes"], _ = timed_cli(config, "show", "zx-year", "--since", "24h", repeat=3)
    from zte_uxip.server import show

    def show_in_process() -> None:
        show.render(show.collect("zx-year", 30 * 86400, NOW, 900))

    res["show_30d_query_s"] = timed(show_in_process)  # the part a console page pays too
    log(f"{kind}: show 30d {res['show_30d_s']:.2f} s ({res['show_30d_bytes']} B), 24h {res['show_24h_s']:.2f} s; "
        f"devices {res['ref_cli_devices_s']:.2f} s; count(*) 30 d {res['ref_count_30d_s'] * 1000:.1f} ms")

    def bare_read() -> None:
        with loader.conn.cursor() as cur:
            cur.execute("SELECT seq, cbor FROM store_batch WHERE device_id = %s ORDER BY seq", [pk])
            while cur.fetchmany(5000):
                pass

    res["ref_bare_read_s"] = timed(bare_read, repeat=1)
    res["cbor_bytes"] = loader.sql("SELECT sum(length(cbor)) FROM store_batch")[0][0]
    out = dir / "export.json"
    res["export_s"], _, _ = timed_cli(config, "export", "zx-year", "--out", str(out))
    res["export_bytes"] = out.stat().st_size
    last = None
    n = 0
    with out.open() as fh:  # one batch per line; not json.load: 700+ MB would take GBs of RAM
        for line in fh:
            if line.startswith('{"schema"'):
                n += 1
                last = line
    assert n == YEAR_BATCHES and last is not None and json.loads(last.rstrip(",\n"))["seq"] == YEAR_BATCHES
    out.unlink()
    log(f"{kind}: export {res['export_s']:.1f} s, {res['export_bytes'] / 1e6:.0f} MB "
        f"(bare read of the CBOR {res['ref_bare_read_s']:.1f} s, {res['cbor_bytes'] / 1e6:.0f} MB)")
    res["erase_s"], _, erased = timed_cli(config, "erase", "zx-year")
    log(f"{kind}: erase {res['erase_s']:.1f} s")
    return res


def bench_retention(kind: str, url: str, dir: Path) -> dict[str, Any]:
    config = write_config(dir, url)
    loader = setup_django(config)
    per_device = RET_PER_DAY * 60  # two months
    step = 86400 // RET_PER_DAY
    res: dict[str, Any] = {"devices": RET_DEVICES, "batches_per_device_day": RET_PER_DAY}
    t = time.perf_counter()
    devices = [(add_device(f"zx-{i:05d}", per_device, NOW - 60), f"zx-{i:05d}") for i in range(RET_DEVICES)]
    fill(loader, devices, per_device, step, 1, NOW - 60)
    res["load_s"] = round(time.perf_counter() - t, 1)
    cutoff = NOW - 30 * 86400
    loader.sql("ANALYZE")
    res["rows_before"] = {t: loader.sql(f"SELECT count(*) FROM {t}")[0][0]
                          for t in ("store_batch", "store_sample", "store_event")}
    log(f"{kind}: loaded {res['rows_before']} in {res['load_s']} s")
    # Reference 1: counting what goes.
    res["ref_count_s"] = timed(lambda: loader.sql(
        "SELECT count(*) FROM store_sample s JOIN store_batch b ON b.id = s.batch_id WHERE b.sampled_ts < %s",
        [cutoff]), repeat=1)
    # Reference 2: the same delete as bare SQL on an identical copy of the tables.
    for t in ("batch", "sample", "event"):
        loader.sql(f"CREATE TABLE ref_{t} AS SELECT * FROM store_{t}")
    loader.sql("CREATE INDEX ref_batch_sampled ON ref_batch (sampled_ts)")
    loader.sql("CREATE INDEX ref_sample_batch ON ref_sample (batch_id)")
    loader.sql("CREATE INDEX ref_event_batch ON ref_event (batch_id)")
    loader.sql("ANALYZE")

    def bare_delete() -> None:
        from django.db import transaction

        with transaction.atomic():
            for t in ("sample", "event"):
                loader.sql(f"DELETE FROM ref_{t} WHERE batch_id IN "
                           f"(SELECT id FROM ref_batch WHERE sampled_ts < %s)", [cutoff])
            loader.sql("DELETE FROM ref_batch WHERE sampled_ts < %s", [cutoff])

    res["ref_bare_delete_s"] = timed(bare_delete, repeat=1)
    for t in ("batch", "sample", "event"):
        loader.sql(f"DROP TABLE ref_{t}")
    res["sweep_s"], _, _ = timed_cli(config, "retention")
    out = json.loads(subprocess.run([SERVER, "audit", "--json", "--limit", "1", "--config", str(config)],
                                    capture_output=True, check=True).stdout)
    res["sweep_detail"] = out[0]["detail"]
    res["rows_after"] = {t: loader.sql(f"SELECT count(*) FROM {t}")[0][0]
                         for t in ("store_batch", "store_sample", "store_event")}
    assert loader.sql("SELECT count(*) FROM store_batch WHERE sampled_ts < %s", [cutoff])[0][0] == 0
    log(f"{kind}: sweep {res['sweep_s']:.1f} s ({res['sweep_detail']}); bare SQL delete on a copy "
        f"{res['ref_bare_delete_s']:.1f} s; count {res['ref_count_s']:.2f} s")
    return res


def child(kind: str, part: str, url: str, dir: str) -> None:
    fn = bench_year if part == "year" else bench_retention
    print("RESULT " + json.dumps(fn(kind, url, Path(dir))), flush=True)


def main() -> int:
    if len(sys.argv) == 5:
        child(*sys.argv[1:])
        return 0
    results: dict[str, Any] = {}
    pg = None
    try:
        for kind in DBS:
            for part in PARTS:
                dir = Path(tempfile.mkdtemp(prefix=f"uxbench-{kind}-"))
                if kind == "postgresql":
                    if pg is None:
                        import pgcluster
                        why = pgcluster.skip_reason()
                        if why:
                            print(f"postgresql: skipped: {why}")
                            break
                        pg = pgcluster.PgCluster().start()
                    url = pg.createdb(f"bench_{part}")
                else:
                    url = f"sqlite:///{dir}/store.sqlite3"
                print(f"== {kind}: {part}", flush=True)
                r = subprocess.run([sys.executable, __file__, kind, part, url, str(dir)], stdout=subprocess.PIPE,
                                   text=True, check=False)
                line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
                print("\n".join(x for x in r.stdout.splitlines() if not x.startswith("RESULT ")))
                if r.returncode != 0 or line is None:
                    print(f"{kind} {part}: failed (exit {r.returncode})")
                    return 1
                results.setdefault(kind, {})[part] = json.loads(line[7:])
                subprocess.run(["rm", "-rf", str(dir)], check=False)
    finally:
        if pg is not None:
            pg.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    merged: dict[str, Any] = {}
    if (out / "store.json").exists():  # a run of some parts keeps the others' last figures
        merged = json.loads((out / "store.json").read_text())
    for kind, parts in results.items():
        merged.setdefault(kind, {}).update(parts)
    (out / "store.json").write_text(json.dumps(merged, indent=2) + "\n")
    summary(merged)
    return 0


def summary(results: dict[str, Any]) -> None:
    print("\n== summary (wall seconds; ratio = figure / same-run reference)")
    for kind, r in results.items():
        y, rt = r.get("year"), r.get("retention")
        if y:
            print(f"{kind}: {y['batches']} one-minute batches of one device")
            print(f"  show --since 30d  {y['show_30d_s']:.2f} s (target <= 1 s), {y['show_30d_bytes'] / 1e3:.0f} kB; "
                  f"{y['show_30d_s'] / y['ref_cli_devices_s']:.1f}x `devices` ({y['ref_cli_devices_s']:.2f} s, "
                  f"the CLI's fixed cost); count(*) of the same 30 d of samples {y['ref_count_30d_s'] * 1e3:.0f} ms")
            if "show_30d_query_s" in y:
                print(f"  show 30d in-process (queries + rendering, no interpreter/Django start) "
                      f"{y['show_30d_query_s']:.2f} s = {y['show_30d_query_s'] / y['ref_count_30d_s']:.0f}x "
                      "the count(*)")
            print(f"  show --since 24h  {y['show_24h_s']:.2f} s; --json 30d {y['show_30d_json_s']:.2f} s")
            print(f"  export            {y['export_s']:.0f} s, {y['export_bytes'] / 1e6:.0f} MB "
                  f"({y['export_bytes'] / y['batches']:.0f} B/batch); {y['export_s'] / y['ref_bare_read_s']:.0f}x "
                  f"the bare read of the same CBOR ({y['ref_bare_read_s']:.1f} s, {y['cbor_bytes'] / 1e6:.0f} MB)")
            print(f"  erase             {y['erase_s']:.1f} s")
        if rt:
            gone = rt["rows_before"]["store_batch"] - rt["rows_after"]["store_batch"]
            print(f"{kind}: retention, {rt['devices']} devices x {rt['batches_per_device_day']} batches/day x 60 days")
            print(f"  sweep of 30 days  {rt['sweep_s']:.1f} s for {gone} batches (+ samples, events): "
                  f"{gone / rt['sweep_s']:.0f} batches/s; {rt['sweep_s'] / rt['ref_bare_delete_s']:.1f}x the bare "
                  f"SQL delete on a copy ({rt['ref_bare_delete_s']:.1f} s); count(*) {rt['ref_count_s']:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
