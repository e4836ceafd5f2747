"""One summarised snapshot per report, and location withdrawal reaching what is already held."""

from zte_uxip.report import Report, build_batch, strip_location_payload
from zte_uxip.wire import codec


def snap(t, rx, tx, rsrp, cpu, cell_id=0x1A2D101):
    return {"ts": 1_700_000_000 + t, "uptime_s": 100 + t,
            "system": {"cpu_pct": cpu, "load1": 0.5},
            "links": [{"name": "wwan0", "oper": "up", "rx_bytes_total": rx, "tx_bytes_total": tx}],
            "cellular": {"plmn": "310260", "cell_id": cell_id, "tac": 0x2B67, "rsrp_dbm": rsrp, "sinr_db": 12.5}}


def test_summary_is_the_last_sample_with_mean_cpu_rates_peaks_and_signal_range():
    r = Report()
    r.add(0.0, snap(0, 0, 0, -100, 10.0))
    r.add(10.0, snap(10, 10_000, 1_000, -90, 20.0))  # 8000 bit/s down in this interval
    last = snap(20, 12_500, 1_500, -95, 30.0)  # 2000 bit/s
    last["links"][0].update(rx_bps=2000, tx_bps=400)  # the collector's rate over the last sample alone
    r.add(20.0, last)
    s = r.summarise()
    assert s["ts"] == 1_700_000_020 and s["links"][0]["rx_bytes_total"] == 12_500
    assert s["system"]["cpu_pct"] == 20.0
    link = s["links"][0]
    assert link["rx_bps_peak"] == 8000 and link["tx_bps_peak"] == 800
    assert "rx_bps" not in link and "tx_bps" not in link  # the mean follows from consecutive counters
    c = s["cellular"]
    assert (c["rsrp_dbm_min"], c["rsrp_dbm_max"], c["rsrp_dbm_mean"]) == (-100, -90, -95.0)
    assert (c["sinr_db_min"], c["sinr_db_max"]) == (12.5, 12.5)
    assert codec.decode(codec.encode_snapshot(s))["links"][0]["rx_bps_peak"] == 8000


def test_counter_reset_gives_no_rate():
    r = Report()
    r.add(0.0, snap(0, 50_000, 0, -100, 1.0))
    r.add(10.0, snap(10, 10, 0, -100, 1.0))
    assert "rx_bps_peak" not in r.summarise()["links"][0]


def test_empty_report_is_nothing():
    assert Report().summarise() is None


def test_location_withdrawn_strips_buffered_snapshots():
    r = Report()
    r.add(0.0, snap(0, 0, 0, -100, 1.0))
    r.strip_location()
    c = r.summarise()["cellular"]
    assert "cell_id" not in c and "tac" not in c and c["plmn"] == "310260"


def test_location_withdrawn_strips_spooled_batches_and_their_diffs():
    snaps = [snap(0, 0, 0, -100, 1.0), snap(10, 5, 5, -99, 1.0, cell_id=0x1A2D102)]
    data = build_batch(device_id="dev-1", seq=4, enabled=True, location=True, policy_version="v1",
                       snapshots=snaps, events=[{"type": "wan_down", "snapshot": snaps[0]}], dropped_total=0)
    out = codec.decode(strip_location_payload(data))
    assert out["seq"] == 4 and out["consent"]["location"] is False
    for s in [*out["snapshots"], out["events"][0]["snapshot"]]:
        assert "cell_id" not in s["cellular"] and "tac" not in s["cellular"]
        assert s["cellular"]["plmn"] == "310260"
    assert out["snapshots"][1]["links"][0]["rx_bytes_total"] == 5
