"""`zte-uxip status|enable|disable|export|purge` with no agent running: they work on the files."""

import json

from broker import CA
from conftest import zte_uxip

from zte_uxip.report import build_batch
from zte_uxip.spool import Record, Spool


def setup(tmp_path):
    ca = CA(tmp_path / "pki")
    pair = ca.issue("dev-7")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""device_id = "dev-7"
[broker]
host = "127.0.0.1"
ca_file = "{ca.pem}"
cert_file = "{pair.cert}"
key_file = "{pair.key}"
[consent]
toggle_file = "{tmp_path / 'etc' / 'enabled'}"
[spool]
dir = "{tmp_path / 'spool'}"
[state]
dir = "{tmp_path / 'run'}"
flash_dir = "{tmp_path / 'flash'}"
[privacy]
secret_file = "{tmp_path / 'secret'}"
""")
    return cfg


def test_enable_disable_status_without_agent(tmp_path):
    cfg = setup(tmp_path)
    r = zte_uxip("status", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["agent"] == "not running" and st["consent"]["enabled"] is False and st["device_id"] == "dev-7"
    assert json.loads(zte_uxip("enable", "--config", str(cfg)).stdout)["enabled"] is True
    assert (tmp_path / "etc" / "enabled").read_text() == "1\n"
    assert json.loads(zte_uxip("status", "--config", str(cfg)).stdout)["consent"]["enabled"] is True
    assert json.loads(zte_uxip("disable", "--config", str(cfg)).stdout)["enabled"] is False


def test_export_and_purge_flash_records_without_agent(tmp_path):
    cfg = setup(tmp_path)
    sp = Spool(str(tmp_path / "run"), str(tmp_path / "spool"), 65536)
    for _ in range(2):
        seq = sp.next_seq()
        sp.add(Record(seq, build_batch(device_id="dev-7", seq=seq, enabled=True, location=True, policy_version=None,
                                       snapshots=[{"ts": 5, "uptime_s": 9}], events=[], dropped_total=0)))
    sp.shutdown()
    out = tmp_path / "copy.json"
    assert zte_uxip("export", "--config", str(cfg), "--out", str(out)).returncode == 0
    data = json.loads(out.read_text())
    assert [r["seq"] for r in data["records"]] == [1, 2]
    assert data["records"][0]["batch"]["snapshots"][0]["uptime_s"] == 9
    assert json.loads(zte_uxip("purge", "--config", str(cfg)).stdout)["purged_records"] == 2
    assert not list((tmp_path / "spool").glob("*.rec"))


def test_bad_config_is_one_line(tmp_path):
    r = zte_uxip("status", "--config", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and r.stderr.count(b"\n") == 1 and b"config file not found" in r.stderr
