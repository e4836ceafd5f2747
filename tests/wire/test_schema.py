"""The registry guards privacy by construction: these tests walk every field."""

import re

from zte_uxip.wire import schema
from zte_uxip.wire.schema import BATCH, MESSAGES, SNAPSHOT, Field, Kind, Privacy, walk

SNAKE_UNIT = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _levels(fields: tuple[Field, ...]):
    yield fields
    for f in fields:
        if f.children:
            yield from _levels(f.children)


def test_every_field_has_a_privacy_class():
    for message in MESSAGES.values():
        for path, f in walk(message):
            assert isinstance(f.privacy, Privacy), path


def test_there_is_no_content_class():
    assert {p.value for p in Privacy} == {"technical", "identifier", "location"}


def test_identifiers_can_only_travel_as_pseudonyms():
    for message in MESSAGES.values():
        for path, f in walk(message):
            assert (f.privacy is Privacy.IDENTIFIER) == (f.kind is Kind.PSEUDONYM), path


def test_known_identifiers_and_location_fields_are_classed():
    paths = {p: f.privacy for p, f in walk(SNAPSHOT)}
    for ident in ("cellular.imei", "cellular.imsi", "cellular.iccid", "cellular.msisdn",
                  "device.serial", "device.base_mac", "wifi.radios[].ssid", "wan.ipv4", "wan.ipv6"):
        assert paths[ident] is Privacy.IDENTIFIER, ident
    for loc in ("cellular.cell_id", "cellular.tac", "cellular.lac", "cellular.pci"):
        assert paths[loc] is Privacy.LOCATION, loc


def test_no_content_or_gnss_names_exist():
    banned = re.compile(r"sms|contact|message_text|email|url|dns|domain|voice|latitude|longitude|gnss|gps")
    for message in MESSAGES.values():
        for path, _f in walk(message):
            assert not banned.search(path), path


def test_keys_unique_and_names_snake_case_per_level():
    for message in MESSAGES.values():
        for level in _levels(message):
            keys = [f.key for f in level]
            names = [f.name for f in level]
            assert len(keys) == len(set(keys)), names
            assert len(names) == len(set(names)), names
            assert all(k >= 2 or level not in MESSAGES.values() for k in keys), "0 and 1 are the header"
            for n in names:
                assert SNAKE_UNIT.match(n), n


def test_design_contract_names_exist():
    paths = {p for p, _ in walk(SNAPSHOT)}
    for name in ("ts", "uptime_s", "system.cpu_pct", "system.mem_used_pct", "system.load1",
                 "links[].name", "links[].oper", "links[].rx_bytes_total", "links[].tx_bytes_total",
                 "links[].carrier_changes_total", "wan.iface", "wan.up", "wan.disconnects_total",
                 "wan.last_disconnect", "wifi.radios[].iface", "wifi.radios[].band", "wifi.radios[].freq_mhz",
                 "wifi.radios[].channel", "wifi.radios[].clients", "wifi.radios[].txpower_dbm",
                 "cellular.plmn", "cellular.mcc", "cellular.mnc", "cellular.rat", "cellular.cell_id",
                 "cellular.tac", "cellular.registration", "cellular.roaming", "cellular.rssi_dbm",
                 "cellular.rsrp_dbm", "cellular.rsrq_db", "cellular.sinr_db", "events"):
        assert name in paths, name
    batch = {p for p, _ in walk(BATCH)}
    for name in ("device_id", "seq", "consent.enabled", "consent.location", "consent.policy_version",
                 "snapshots", "events", "dropped_total"):
        assert name in batch, name


def test_cumulative_counters_are_delta_coded():
    for path, f in walk(SNAPSHOT):
        if path.endswith("_total") and f.kind is Kind.UINT:
            assert f.delta, path


def test_schema_version_is_an_int():
    assert isinstance(schema.SCHEMA_VERSION, int)
