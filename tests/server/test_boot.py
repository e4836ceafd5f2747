"""Settings from the TOML, and the schema created or upgraded by any command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from zte_uxip.server import conf


def test_migrations_match_models(db):
    """A model change without its migration would leave operators' databases behind."""
    out = io.StringIO()
    call_command("makemigrations", "store", "commands", "console", "--check", "--dry-run", stdout=out)


@pytest.mark.parametrize("table, message", [
    ({"nosuch": 1}, "nosuch: unknown key"),
    ({"retention": {"days": 400}}, "retention.days: must be 1..365"),
    ({"retention": {"dayz": 4}}, "retention.dayz: unknown key"),
    ({"store": {"url": "mysql://x/y"}}, "store.url: mysql is not supported"),
    ({"broker": {"host": "h", "ca_file": "a", "cert_file": "b", "key_file": "c", "port": 1883}},
     "broker.port: 1883 is not a TLS port"),
    ({"broker": {"host": "h"}}, "broker.ca_file: required key is missing"),
    ({"retention": {"days": "30"}}, "retention.days: must be an integer"),
])
def test_config_refused_with_one_line_naming_the_key(table, message):
    with pytest.raises(conf.ServerConfigError) as e:
        conf.from_dict(table)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_database_urls():
    assert conf.database("sqlite:////var/lib/x.sqlite3")["NAME"] == "/var/lib/x.sqlite3"
    pg = conf.database("postgresql://u:p%40ss@db.example:5433/uxip")
    got = (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"])
    assert got == ("u", "p@ss", "db.example", "5433", "uxip")
    assert conf.database("postgresql://u@/uxip?host=/run/postgresql")["HOST"] == "/run/postgresql"


def test_erase_leaves_only_tombstone_and_audit(db):
    from zte_uxip.server.commands.models import Command
    from zte_uxip.server.store.erase import erase_device
    from zte_uxip.server.store.models import AuditEntry, Batch, Device, Event, Sample, Tombstone

    d = Device.objects.create(device_id="dev1", region="eu", first_seen_ts=1, last_seen_ts=2)
    b = Batch.objects.create(device=d, seq=1, received_ts=2, sampled_ts=1, region="eu", cbor=b"\xa0")
    Sample.objects.create(device=d, batch=b, ts=1, rsrp_dbm=-100)
    Event.objects.create(device=d, batch=b, kind="wan_down", ts=1, cause="carrier_lost")
    Command.objects.create(command_id="00" * 16, device_id="dev1", verb="snapshot")
    other = Device.objects.create(device_id="dev2", region="eu", first_seen_ts=1, last_seen_ts=2)
    Batch.objects.create(device=other, seq=1, received_ts=2, sampled_ts=1, region="eu", cbor=b"\xa0")

    counts = erase_device("dev1", username="system", withdrawn_ts=5, policy_version="2")

    assert counts == {"samples": 1, "events": 1, "batches": 1, "commands": 1, "devices": 1}
    assert not Device.objects.filter(device_id="dev1").exists()
    assert not Batch.objects.filter(device__device_id="dev1").exists()
    assert not Command.objects.filter(device_id="dev1").exists()
    assert Batch.objects.filter(device=other).count() == 1
    t = Tombstone.objects.get(device_id="dev1")
    assert (t.withdrawn_ts, t.policy_version, t.region) == (5, "2", "eu")
    a = AuditEntry.objects.get(device_id="dev1")
    assert a.action == "withdrawn" and "1 batches" in a.detail
