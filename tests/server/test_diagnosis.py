"""The diagnosis rules on recorded device histories: one history per rule, and a healthy device
with no finding. Each finding must carry evidence (times and values) and a next step."""

from __future__ import annotations

import json

import pytest
from server import histories

from zte_uxip.server import cli
from zte_uxip.server.console.diagnosis import POOR_RSRP_DBM, diagnose

# What each recorded history must produce: exactly these codes, the rule's own at this severity.
EXPECTED = {
    "wan_drops": ({"wan_drops", "drops_poor_radio", "modem_detached"}, "warning"),
    "drops_poor_radio": ({"wan_drops", "drops_poor_radio", "modem_detached"}, "warning"),
    "registration_denied": ({"registration_denied"}, "critical"),
    "no_service": ({"no_service"}, "warning"),
    "roaming": ({"roaming"}, "warning"),
    "modem_detached": ({"modem_detached"}, "warning"),
    "data_limit_exceeded": ({"data_limit_exceeded"}, "warning"),
    "version_too_low": ({"version_too_low"}, "warning"),
    "unexpected_restarts": ({"unexpected_restarts"}, "critical"),
    "wifi_driver_error": ({"wifi_driver_error"}, "warning"),
    "wifi_weak_password": ({"wifi_weak_password"}, "warning"),
    "wifi_short_range": ({"wifi_short_range"}, "warning"),
    "high_cpu": ({"high_cpu"}, "warning"),
    "high_memory": ({"high_memory"}, "critical"),
    "stopped_reporting": ({"stopped_reporting"}, "warning"),
}


def test_healthy_device_has_no_finding(db):
    histories.build(histories.healthy())
    d = diagnose("healthy-01")
    assert d is not None
    assert d.findings == [] and d.health == "ok" and d.score == 100 and d.state == "online"


@pytest.mark.parametrize("code", sorted(histories.RULE_SCENARIOS))
def test_each_rule_fires_on_its_history(db, code):
    h = histories.RULE_SCENARIOS[code]()
    histories.build(h)
    d = diagnose(h.device_id)
    codes, severity = EXPECTED[code]
    assert {f.code for f in d.findings} == codes
    f = next(f for f in d.findings if f.code == code)
    assert f.severity == severity
    assert f.evidence and all(isinstance(e.get("ts"), int) for e in f.evidence)
    assert f.summary and f.next_step
    assert d.health == ("critical" if any(x.severity == "critical" for x in d.findings) else "problem")
    assert d.score < 100


def test_each_drop_is_tied_to_its_radio(db):
    histories.build(histories.poor_radio_drops())
    d = diagnose("flaky-radio-01")
    drops = next(f for f in d.findings if f.code == "wan_drops")
    assert "42 times in 7 days" in drops.summary and "6.0 per day" in drops.summary
    assert "route_lost" in drops.summary and "modem_detached" in drops.summary
    assert "35 of 42 at poor signal" in drops.summary
    assert "antenna" in drops.next_step
    poor = next(f for f in d.findings if f.code == "drops_poor_radio")
    assert "35 of 42" in poor.summary and "cell 27447553" in poor.summary
    for e in poor.evidence:  # the field data at each drop
        assert e["rsrp_dbm"] < POOR_RSRP_DBM or e["sinr_db"] < 0
        assert e["rat"] == "lte" and e["cell_id"] == 0x1A2D101 and e["duration_s"] >= 20


def test_drops_at_good_signal_point_elsewhere(db):
    now = histories.healthy().now
    h = histories.History("good-radio-drops", now=now, events=[
        histories.drop(now - k * 3600, "carrier_lost", 30, rsrp_dbm=-80, sinr_db=18.0) for k in range(1, 40)])
    histories.build(h)
    d = diagnose("good-radio-drops")
    assert [f.code for f in d.findings] == ["wan_drops"]
    assert "0 of 39 at poor signal" in d.findings[0].summary
    assert "cable" in d.findings[0].next_step


def test_unknown_device_and_withdrawn(db):
    from zte_uxip.server.store.models import Tombstone

    assert diagnose("nope") is None
    Tombstone.objects.create(device_id="gone", withdrawn_ts=1, region="eu")
    assert diagnose("gone").state == "consent_withdrawn"


def test_diagnose_verb_prints_findings_and_audits(db, tmp_path, capsys):
    from zte_uxip.server.store.models import AuditEntry

    histories.build(histories.restarts())
    cfg = tmp_path / "server.toml"
    cfg.write_text('region = "eu"\n')
    assert cli.main(["diagnose", "restarts-01", "--json", "--config", str(cfg)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["health"] == "critical" and out["findings"][0]["code"] == "unexpected_restarts"
    assert {"code", "severity", "summary", "evidence", "next_step"} <= set(out["findings"][0])
    assert cli.main(["diagnose", "restarts-01", "--config", str(cfg)]) == 0
    text = capsys.readouterr().out
    assert "health critical" in text and "CRITICAL unexpected_restarts" in text and "previous_uptime_s=" in text
    a = AuditEntry.objects.filter(action="diagnose", device_id="restarts-01")
    assert a.count() == 2 and a.first().remote_addr == "cli"
    assert cli.main(["diagnose", "nope", "--config", str(cfg)]) == 1
    assert "nope: no such device" in capsys.readouterr().err


def test_diagnose_verb_does_not_pass_terminal_escapes(db, tmp_path, capsys):
    now = histories.healthy().now
    histories.build(histories.History("esc-01", now=now, events=[
        {"type": "wifi_weak_password", "ts": now - 60, "iface": "wlan0", "reason": "\x1b]0;owned\x07\x1b[2J"}]))
    cfg = tmp_path / "server.toml"
    cfg.write_text('region = "eu"\n')
    assert cli.main(["diagnose", "esc-01", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "?]0;owned?" in out
