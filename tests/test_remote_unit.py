"""The device's remote-command parts one by one: the envelope against hostile bytes and against
the server's signer, the allow-list, the replay window and the owner's log bounds, the findings,
and the tool parsers on the output of the real tools (iputils and busybox ping; busybox and bind9
nslookup against a local DNS responder)."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from dnsserver import DnsServer
from hypothesis import given, settings
from hypothesis import strategies as st

from zte_uxip.remote import diagnose, envelope, runner, verbs
from zte_uxip.remote.envelope import Refused
from zte_uxip.remote.log import MAX_ENTRIES, CommandLog, read_entries
from zte_uxip.remote.replay import MAX_IDS, ReplayWindow
from zte_uxip.server import signing


@pytest.fixture(scope="module")
def key():
    from nacl.signing import SigningKey

    return SigningKey.generate()


def _signed(key, **over):
    now = int(time.time())
    body = {"device_id": "d1", "verb": "ping", "args": {"host": "127.0.0.1"}, "issued_ts": now,
            "expires_ts": now + 60} | over
    cid, payload = signing.command_payload(body["device_id"], body["verb"], body["args"], body["issued_ts"],
                                           body["expires_ts"])
    return cid, signing.sign1(key, payload)


def test_what_the_server_signs_the_device_opens(key):
    cid, data = _signed(key)
    cmd = envelope.open_envelope(data, bytes(key.verify_key))
    assert (cmd.id, cmd.device_id, cmd.verb, cmd.args) == (cid, "d1", "ping", {"host": "127.0.0.1"})


def test_a_changed_byte_anywhere_is_refused(key):
    _cid, data = _signed(key)
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(Refused):
            envelope.open_envelope(bytes(bad), bytes(key.verify_key))


def test_another_key_is_a_bad_signature(key):
    from nacl.signing import SigningKey

    _cid, data = _signed(SigningKey.generate())
    with pytest.raises(Refused, match="bad signature"):
        envelope.open_envelope(data, bytes(key.verify_key))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_are_refused_never_raised_otherwise(data):
    with pytest.raises(Refused):
        envelope.open_envelope(data, bytes(32))


def test_oversized_is_refused_before_parsing(key):
    with pytest.raises(Refused, match="exceeds"):
        envelope.open_envelope(b"\xd2" + bytes(envelope.MAX_ENVELOPE_BYTES), bytes(key.verify_key))


def test_verify_key_file_format(tmp_path):
    import base64

    from zte_uxip.errors import ConfigError

    p = tmp_path / "k.pub"
    p.write_text(base64.b64encode(bytes(32)).decode() + "\n")
    assert envelope.load_verify_key(str(p)) == bytes(32)
    for text in ("not base64!", base64.b64encode(bytes(31)).decode()):
        p.write_text(text)
        with pytest.raises(ConfigError, match="commands.verify_key_file"):
            envelope.load_verify_key(str(p))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "2001:db8::7", "router.example", "a-b.c9.example",
                                  "localhost", "x" * 63 + ".example"])
def test_valid_hosts(host):
    assert verbs.validate("ping", {"host": host}) == {"host": host, "count": 4}


@pytest.mark.parametrize("host", ["-c", "a;b", "a b", "$(id)", "`id`", "a/b", "a..b", "-a.example", "a-.example",
                                  "x" * 64 + ".example", "a" * 254, "ä.example", "1.2.3.4.5", "fe80::1%eth0",
                                  "", "a\nb", "example.123", "a_b.example"])
def test_invalid_hosts(host):
    with pytest.raises(Refused, match="argument host"):
        verbs.validate("ping", {"host": host})


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_an_accepted_host_can_never_be_an_option_or_shell_syntax(text):
    try:
        out = verbs.validate("ping", {"host": text})
    except Refused:
        return
    assert not out["host"].startswith("-")
    assert set(out["host"]) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")


def test_argument_types_and_ranges():
    assert verbs.validate("events", {}) == {"count": 10}
    with pytest.raises(Refused, match="must be an integer"):
        verbs.validate("events", {"count": True})
    with pytest.raises(Refused, match="unknown argument"):
        verbs.validate("snapshot", {"x": 1})
    with pytest.raises(Refused, match="unknown argument"):
        verbs.validate("snapshot", {b"\x00" * 100: 1})
    with pytest.raises(Refused, match="unknown verb"):
        verbs.validate("shell", {})


def test_replay_window_is_bounded_and_forgets_only_after_expiry(tmp_path):
    w = ReplayWindow(str(tmp_path))
    now = int(time.time())
    assert w.admit(b"a" * 16, now + 60, now) is None
    assert w.admit(b"a" * 16, now + 60, now) == "replayed id"
    assert ReplayWindow(str(tmp_path)).admit(b"a" * 16, now + 60, now) == "replayed id"  # survives a restart
    for i in range(MAX_IDS - 1):
        assert w.admit(i.to_bytes(16, "big"), now + 60, now) is None
    assert w.admit(b"z" * 16, now + 60, now) == "replay window full"
    assert w.admit(b"z" * 16, now + 60, now + 60 + 301) is None  # all expired: room again
    assert len(w) == 1


def test_owner_log_keeps_the_last_100_and_clears(tmp_path):
    log = CommandLog(str(tmp_path))
    for i in range(MAX_ENTRIES + 20):
        log.add(cmd_id=i.to_bytes(16, "big"), verb="snapshot", status="ok", ts=i)
    entries = read_entries(str(tmp_path))
    assert len(entries) == MAX_ENTRIES and entries[0]["ts"] == 20
    assert entries[-1]["id"] == (119).to_bytes(16, "big").hex()
    log.clear()
    assert read_entries(str(tmp_path)) == []
    (tmp_path / "commands.cbor").write_bytes(b"\xff\x00junk")
    assert read_entries(str(tmp_path)) == []


@pytest.mark.parametrize(("cell", "codes"), [
    ({"sim_state": "absent"}, ["sim_missing"]),
    ({"sim_state": "pin_required", "registration": "not_registered"}, ["sim_pin_locked"]),
    ({"registration": "denied", "reject_cause": 15}, ["registration_denied"]),
    ({"registration": "home", "attached": False}, ["no_apn"]),
    ({"registration": "home", "apn": "internet", "pdp_error": "PDP authentication failed"}, ["pdp_auth_failed"]),
    ({"registration": "home", "apn": "internet", "attached": True}, []),
    ({"registration": "searching"}, ["not_registered"]),
])
def test_cellular_findings(cell, codes):
    assert [f["code"] for f in diagnose.cellular_findings(cell)] == codes


def test_registration_denied_names_the_reject_cause():
    (f,) = diagnose.cellular_findings({"registration": "denied", "reject_cause": 15})
    assert f["detail"] == "reject cause 15"


def test_wan_transport_clock_consent_findings():
    codes = [f["code"] for f in diagnose.findings(
        consent_enabled=False, snapshot={"wan": {"iface": "wwan0", "up": False,
                                                 "last_disconnect": {"cause": "address_lost"}}},
        last_failure="broker mqtt.example.net:8883: [Errno -2] Name or service not known", synced=False)]
    assert codes == ["consent_off", "wan_down", "no_ip", "dns_failure", "clock_not_synced"]
    assert [f["code"] for f in diagnose.transport_findings("broker h:8883: [Errno 111] Connection refused")] == \
        ["broker_unreachable"]
    assert diagnose.wan_findings({"iface": "eth0", "up": True, "ipv4": "ab"}) == []


def _run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=20,
                          env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})


@pytest.mark.skipif(shutil.which("ping") is None, reason="needs iputils ping (`make test` installs it)")
def test_parse_iputils_ping_output():
    t0 = time.monotonic()
    out = _run(runner.ping_argv(shutil.which("ping"), "127.0.0.1", 2))
    status, r = runner.parse_ping("127.0.0.1")(out.stdout, time.monotonic() - t0)
    assert status == "ok" and (r["sent"], r["received"]) == (2, 2)
    assert r["rtt_ms_min"] <= r["rtt_ms_avg"] <= r["rtt_ms_max"]


@pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox (`make test` installs busybox-static)")
def test_parse_busybox_ping_output():
    out = _run([shutil.which("busybox"), *runner.ping_argv("ping", "127.0.0.1", 2)])
    status, r = runner.parse_ping("127.0.0.1")(out.stdout, 1.0)
    assert status == "ok" and (r["sent"], r["received"], r["loss_pct"]) == (2, 2, 0.0) and r["rtt_ms_max"] > 0


def test_ping_loss_and_unknown_host():
    status, r = runner.parse_ping("h")("3 packets transmitted, 1 packets received, 66% packet loss\n", 2.0)
    assert status == "ok" and r["loss_pct"] == 66.7 and "rtt_ms_min" not in r
    status, why = runner.parse_ping("h")("ping: bad address 'h'\x1b[31m\n", 0.1)
    assert status == "failed" and why == "ping: ping: bad address 'h'?[31m"


@pytest.fixture(scope="module")
def dns():
    d = DnsServer({"ok.test": "192.0.2.7"})
    yield d
    d.close()


@pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox (`make test` installs busybox-static)")
def test_parse_busybox_nslookup(dns):
    ok = _run([shutil.which("busybox"), "nslookup", "ok.test", f"127.0.0.1:{dns.port}"])
    assert runner.parse_nslookup("ok.test")(ok.stdout, 0.01) == \
        ("ok", {"name": "ok.test", "addresses": ["192.0.2.7"], "time_ms": 10})
    nx = _run([shutil.which("busybox"), "nslookup", "nx.test", f"127.0.0.1:{dns.port}"])
    status, why = runner.parse_nslookup("nx.test")(nx.stdout + nx.stderr, 0.01)
    assert status == "failed" and "NXDOMAIN" in why and "127.0.0.1" not in why


@pytest.mark.skipif(shutil.which("nslookup") is None, reason="needs nslookup (`make test` installs bind9-dnsutils)")
def test_parse_bind9_nslookup(dns):
    ok = _run([shutil.which("nslookup"), f"-port={dns.port}", "ok.test", "127.0.0.1"])
    status, r = runner.parse_nslookup("ok.test")(ok.stdout, 0.01)
    assert status == "ok" and r["addresses"] == ["192.0.2.7"], ok.stdout  # not the server's own address
    nx = _run([shutil.which("nslookup"), f"-port={dns.port}", "nx.test", "127.0.0.1"])
    assert runner.parse_nslookup("nx.test")(nx.stdout, 0.01)[0] == "failed"


def test_tool_output_in_a_reason_is_printable_and_bounded():
    assert runner.one_line("a\x00b\n" + "x" * 500) == "a?b " + "x" * 196


class _FakeAgent:
    """Only for the answers' filtering logic; the real agent answers in test_remote_e2e.py."""

    def __init__(self, location: bool) -> None:
        from types import SimpleNamespace

        from zte_uxip import privacy

        self._policy = privacy.Policy(location=location, key=b"k" * 32)
        self.sampler = SimpleNamespace(events=[{"type": "wan_down", "ts": 3, "cause": "carrier_lost",
                                                "snapshot": {"cellular": {"cell_id": 77, "imei": "356938035643809",
                                                                          "plmn": "46001"}}}],
                                       collectors=[], ctx=SimpleNamespace(extras={}),
                                       sample=lambda: {"wan": {"iface": "eth0", "up": True, "ipv4": "192.0.2.1"}})
        self.consent = SimpleNamespace(enabled=True, location=location, policy_version=None)
        self.spool = SimpleNamespace(__len__=lambda: 0)
        self.publisher = SimpleNamespace(last_failure="", connected=True, last_publish_ts=None)

    def policy(self):
        return self._policy


@pytest.mark.parametrize("location", [True, False])
def test_events_and_link_answers_pass_the_privacy_filter_of_now(location):
    from zte_uxip.remote import answers

    agent = _FakeAgent(location)
    recent = [{"type": "wan_down", "ts": 1, "cause": "route_lost", "snapshot": {"cellular": {"cell_id": 5}}},
              {"type": "unexpected_restart", "ts": 2}]
    evs = answers.events(agent, {"count": 2}, recent)["events"]
    assert [e["type"] for e in evs] == ["unexpected_restart", "wan_down"]
    cell = evs[1]["snapshot"]["cellular"]
    assert ("cell_id" in cell) is location and cell["plmn"] == "46001"
    assert "356938035643809" not in repr(evs) and len(bytes.fromhex(cell["imei"])) == 8  # a pseudonym
    link = answers.link(agent, {}, recent)
    assert [d["cause"] for d in link["disconnects"]] == ["route_lost", "carrier_lost"]
    assert link["wan"]["ipv4"] != "192.0.2.1" and "no_ip" not in [f["code"] for f in link["findings"]]


def test_commands_config_key(tmp_path):
    from zte_uxip import config
    from zte_uxip.errors import ConfigError

    files = {n: tmp_path / n for n in ("ca", "cert", "key")}
    for f in files.values():
        f.write_text("x")
    table = {"broker": {"host": "h", "ca_file": str(files["ca"]), "cert_file": str(files["cert"]),
                        "key_file": str(files["key"])}}
    assert config.from_dict(table).commands.verify_key_file == ""
    with pytest.raises(ConfigError, match=r"^commands\.verify_key_file: .* missing or unreadable"):
        config.from_dict({**table, "commands": {"verify_key_file": str(tmp_path / "none.pub")}})
    with pytest.raises(ConfigError, match=r"^commands\.allow_shell: unknown key"):
        config.from_dict({**table, "commands": {"allow_shell": True}})


def test_a_command_arriving_in_the_opt_out_window_is_refused_and_runs_nothing(tmp_path, key, monkeypatch):
    """Between the toggle and the DISCONNECT a queued command may still arrive: refused."""
    from zte_uxip.remote.service import Remote

    agent = _FakeAgent(True)
    agent.consent.enabled = False
    sent: list[bytes] = []
    started: list[object] = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: started.append(a))
    r = Remote(device_id="d1", verify_key=bytes(key.verify_key), state_dir=str(tmp_path), agent=agent,
               send=lambda data: sent.append(data) or True)
    cid, data = _signed(key)
    r.on_message(data)
    import cbor2

    assert cbor2.loads(sent[0]) == {"id": cid, "status": "refused", "reason": "the owner has opted out"}
    assert started == [] and r.log.entries[0]["status"] == "refused"
