"""Settings from the TOML, and the schema created or upgraded by any command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from zte_uxip.server import conf


def test_migrations_match_models(db):
    """A model change without its migration would leave operators' databases behind."""
    out = io.StringIO()
    call_command("makemigrations", "store", "commands", "--check", "--dry-run", stdout=out)


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
