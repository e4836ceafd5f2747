"""`zte-uxip sample --once` follows the contract."""

from __future__ import annotations

import json

import pytest
from conftest import zte_uxip

from zte_uxip.wire import codec


def test_json_snapshot_has_contract_fields():
    r = zte_uxip("sample", "--once", "--modem", "none", "--format", "json")
    assert r.returncode == 0, r.stderr.decode()
    snap = json.loads(r.stdout)
    assert snap["uptime_s"] > 0 and snap["ts"] > 1_700_000_000
    assert {"cpu_pct", "mem_used_pct", "load1"} <= set(snap["system"])
    assert any(li["name"] == "lo" for li in snap["links"])


def test_cbor_is_a_bare_snapshot_that_decodes_to_the_same_json():
    r = zte_uxip("sample", "--once", "--modem", "none", "--format", "cbor")
    assert r.returncode == 0
    assert len(r.stdout) <= 600 or len(json.loads(json.dumps(codec.decode(r.stdout)))["links"]) > 8
    snap = codec.decode(r.stdout)
    assert snap["schema"] == 1 and "snapshots" not in snap


@pytest.mark.parametrize("spec", ["serial:/dev/x", "at:ttyUSB0"])
def test_bad_modem_spec_is_one_line(spec):
    r = zte_uxip("sample", "--once", "--modem", spec)
    assert r.returncode == 2
    assert r.stderr.decode().count("\n") == 1 and "not a modem SPEC" in r.stderr.decode()


def test_bad_config_is_one_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("bogus = 1\n")
    r = zte_uxip("sample", "--once", "--config", str(cfg))
    assert r.returncode == 2
    assert r.stderr.decode().strip() == "zte-uxip: config: bogus: unknown key"
