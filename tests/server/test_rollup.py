"""The five-minute rollups agree with the raw samples, catch late batches, and go with erasure."""

from __future__ import annotations

from django.db.models import Avg, Max, Min
from server import histories

from zte_uxip.server.console import rollup
from zte_uxip.server.console.models import SampleRollup
from zte_uxip.server.store.models import Batch, Sample


def test_rollup_buckets_equal_raw_aggregates(db):
    d = histories.build(histories.poor_radio_drops(days=2))
    rollup.update(d)
    start = histories.History("x").now - 2 * 86400
    start -= start % 7200
    rows = rollup.buckets(d, start, start + 3 * 86400, 7200, ["wlan0", "wlan1"])
    assert len(rows) >= 24
    for r in rows:
        raw = Sample.objects.filter(device=d, ts__gte=r["b"] * 7200, ts__lt=(r["b"] + 1) * 7200).aggregate(
            rsrp=Avg("rsrp_dbm"), rsrp_min=Min("rsrp_dbm"), cpu=Avg("cpu_pct"), clients=Max("wifi_clients"))
        assert abs(r["rsrp"] - raw["rsrp"]) < 1e-6 and r["rsrp_min"] == raw["rsrp_min"]
        assert abs(r["cpu"] - raw["cpu"]) < 1e-6 and r["clients"] == raw["clients"]
        assert r["r0"] == 3 and r["r1"] == 5  # wlan0, wlan1 as the history sends them


def test_late_batch_lands_in_its_old_bucket(db):
    d = histories.build(histories.healthy(days=1))
    assert rollup.update(d) == 145 and rollup.update(d) == 0  # nothing new: nothing rewritten
    old = Sample.objects.filter(device=d).order_by("ts")[10]
    bucket = old.ts - old.ts % rollup.BUCKET_S
    before = SampleRollup.objects.get(device=d, bucket_ts=bucket)
    b = Batch.objects.create(device=d, seq=10_000, received_ts=old.ts + 86400, sampled_ts=old.ts + 1, region="eu",
                             cbor=b"\xa0")
    Sample.objects.create(device=d, batch=b, ts=old.ts + 1, rsrp_dbm=-130, cpu_pct=100.0)  # spooled for a day
    assert rollup.update(d) >= 1
    after = SampleRollup.objects.get(device=d, bucket_ts=bucket)
    assert after.n == before.n + 1 and after.rsrp_min == -130


def test_erase_and_retention_take_the_rollups(db):
    from zte_uxip.server import conf
    from zte_uxip.server.store.erase import erase_device
    from zte_uxip.server.store.retention import sweep

    d = histories.build(histories.healthy(days=1))
    rollup.update(d)
    assert SampleRollup.objects.filter(device=d).exists()
    total = SampleRollup.objects.filter(device=d).count()
    oldest = SampleRollup.objects.filter(device=d).order_by("bucket_ts").first().bucket_ts
    cfg = conf.from_dict({"retention": {"days": 1}})
    sweep(cfg, oldest + 3600 + 86400)  # the sweep takes the first hour's rollups: one sample every 10 min
    assert SampleRollup.objects.filter(device=d).count() == total - 6
    assert not SampleRollup.objects.filter(bucket_ts__lt=oldest + 3600).exists()
    erase_device(d.device_id, username="pat")
    assert not SampleRollup.objects.exists()


def test_odd_radio_maps_do_not_break_the_rollup(db):
    d = histories.build(histories.healthy(days=0.01))
    b = Batch.objects.filter(device=d).first()
    t = Sample.objects.filter(device=d).order_by("ts").first().ts
    for v in (["wlan0"], {"wlan0": "7"}, {"wlan0": True}, {"wlan0": None}, "text", {"x" * 80: 9}, {"wlan1": 2.5}):
        Sample.objects.create(device=d, batch=b, ts=t, wifi_clients_by_radio=v)
    rollup.update(d)
    r = SampleRollup.objects.get(device=d, bucket_ts=t - t % rollup.BUCKET_S)
    assert r.clients_by_radio["x" * 32] == 9  # names cut to 32 characters
    assert r.clients_by_radio["wlan0"] <= 4 and isinstance(r.clients_by_radio["wlan1"], int)  # never "7", True, 2.5
