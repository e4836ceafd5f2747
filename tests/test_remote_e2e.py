"""Remote diagnostics end to end: `zte-uxip-server diag` (and hand-made messages) through a real
mosquitto with mutual TLS to the real agent process, and back. Wrapper tools on the agent's PATH
record every process a command starts, so a refusal is shown to have started nothing."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import cbor2
import pytest
from agentrig import AgentRig
from broker import Mosquitto, Subscriber, mosquitto_skip_reason
from remoterig import RemoteRig, Support, wait_subscribed

from zte_uxip.server import signing

pytestmark = pytest.mark.skipif(mosquitto_skip_reason() is not None, reason=mosquitto_skip_reason() or "")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Mosquitto(tmp_path_factory.mktemp("broker")).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def remote(tmp_path_factory, broker):
    r = RemoteRig(tmp_path_factory.mktemp("remote"), broker)
    yield r
    r.close()


@pytest.fixture
def agents():
    started: list[AgentRig] = []
    yield started
    for a in started:
        a.stop(signal.SIGKILL)


_n = iter(range(1000))


def start_agent(agents, tmp_path, broker, remote, *, modem: str = "none", **kw) -> AgentRig:
    dev = f"rdev-{next(_n)}-{os.getpid()}"
    rig = AgentRig(tmp_path / dev, broker, dev, extra=remote.agent_extra(), **kw)
    if modem != "none":
        rig.config.write_text(rig.config.read_text().replace('backend = "none"', f'backend = "{modem}"'))
    agents.append(rig)
    rig.start(env=remote.agent_env())
    assert wait_subscribed(broker, dev), rig.log_text()
    return rig


def signed(remote, device, verb, args=None, *, issued=None, ttl=60, key=None, cid=None) -> tuple[bytes, bytes]:
    issued = int(time.time()) if issued is None else issued
    cid, payload = signing.command_payload(device, verb, args or {}, issued, issued + ttl, cid)
    return cid, signing.sign1(key or signing.load_signing_key(str(remote.key)), payload)


@pytest.fixture
def modem():
    sim = Path(__file__).parent / "modemsim.py"
    p = subprocess.Popen([sys.executable, str(sim), "--dialect", "zte"], stdout=subprocess.PIPE)
    try:
        yield f"at:{p.stdout.readline().decode().strip()}"
    finally:
        p.kill()
        p.wait(5)


def test_every_verb_round_trip_and_the_owner_sees_each(tmp_path, broker, remote, agents, modem):
    from modemsim import EXPECTED, IDENTIFIERS

    rig = start_agent(agents, tmp_path, broker, remote, modem=modem)
    dev = rig.device_id
    before = len(remote.ran())
    ids = []
    maps = Path(f"/proc/{rig.proc.pid}/maps")
    assert "_sodium" not in maps.read_text()  # PyNaCl is not loaded before the first command

    rc, out, err = remote.diag(dev, "snapshot")
    assert rc == 0 and out["status"] == "ok", (out, err, rig.log_text())
    snap = out["result"]["snapshot"]
    assert any(link["name"] == "lo" for link in snap["links"]) and snap["system"]["mem_total_kib"] > 0
    assert snap["cellular"]["plmn"] == EXPECTED["zte"]["plmn"]
    assert not any(i in json.dumps(out) for i in IDENTIFIERS)  # after the privacy filter
    ids.append(out["id"])
    assert "_sodium" in maps.read_text()  # ... and is after it

    rc, out, _ = remote.diag(dev, "events", "count=5")
    assert rc == 0 and isinstance(out["result"]["events"], list), out
    ids.append(out["id"])

    rc, out, _ = remote.diag(dev, "link")
    assert rc == 0 and out["result"]["wan"]["iface"] and isinstance(out["result"]["findings"], list), out
    assert all(set(f) <= {"code", "detail"} for f in out["result"]["findings"]), out
    ids.append(out["id"])

    rc, out, _ = remote.diag(dev, "modem")
    assert rc == 0, out
    cell = out["result"]["cellular"]
    for k in ("plmn", "registration", "rsrp_dbm", "cell_id"):
        assert cell[k] == EXPECTED["zte"][k], (k, cell)
    assert out["result"]["findings"] == []  # registered at home, attached, APN set
    assert not any(i in json.dumps(out) for i in IDENTIFIERS)
    ids.append(out["id"])

    rc, out, _ = remote.diag(dev, "ping", "host=127.0.0.1", "count=2")
    assert rc == 0, out
    r = out["result"]
    assert (r["sent"], r["received"], r["loss_pct"]) == (2, 2, 0.0) and 0 < r["rtt_ms_min"] <= r["rtt_ms_max"]
    ids.append(out["id"])

    rc, out, _ = remote.diag(dev, "dns", "name=ok.test")
    assert rc == 0 and out["result"]["addresses"] == ["192.0.2.7"] and out["result"]["time_ms"] >= 0, out
    ids.append(out["id"])
    rc, out, _ = remote.diag(dev, "dns", "name=missing.test")
    assert rc == 1 and out["status"] == "failed" and "NXDOMAIN" in out["reason"], out
    ids.append(out["id"])

    rc, out, _ = remote.diag(dev, "selftest")
    assert rc == 0, out
    st = out["result"]
    assert st["consent"]["enabled"] is True and st["connected"] is True and st["spool"]["records"] >= 0
    assert abs(st["clock"]["ts"] - time.time()) < 60 and isinstance(st["clock"]["synced"], bool | None)
    ids.append(out["id"])

    ran = remote.ran()[before:]
    assert ran[0] == "ping [-q] [-c] [2] [-w] [4] [127.0.0.1]", ran  # an argument list, exactly
    assert [r.split()[0] for r in ran] == ["ping", "nslookup", "nslookup"], ran

    # A human reading `diag` without --json
    rc, text, _ = remote.diag(dev, "ping", "host=127.0.0.1", "count=1", as_json=False)
    assert rc == 0 and f"{dev} ping: ok in " in text and '"received": 1' in text, text

    # The owner: status shows the last ones, export lists every command with id, verb, status, ts
    status = json.loads(rig.cli("status").stdout)
    assert [c["verb"] for c in status["commands"]] == ["modem", "ping", "dns", "dns", "selftest", "ping"][-5:]
    exported = json.loads(rig.cli("export").stdout)["commands"]
    assert [c["id"] for c in exported[:len(ids)]] == ids
    assert [c["verb"] for c in exported] == ["snapshot", "events", "link", "modem", "ping", "dns", "dns",
                                             "selftest", "ping"]
    assert [c["status"] for c in exported].count("failed") == 1
    assert all(abs(c["ts"] - time.time()) < 300 for c in exported)
    assert "Traceback" not in rig.log_text()
    # still there for the owner with the agent stopped (RAM state dir)
    rig.stop()
    assert len(json.loads(rig.cli("export").stdout)["commands"]) == 9


def test_a_command_signed_by_pycose_runs_and_pycose_verifies_what_diag_signs(tmp_path, broker, remote, agents):
    from pycose.algorithms import EdDSA
    from pycose.headers import Algorithm
    from pycose.keys import OKPKey
    from pycose.keys.curves import Ed25519
    from pycose.messages import Sign1Message

    rig = start_agent(agents, tmp_path, broker, remote)
    sk = signing.load_signing_key(str(remote.key))
    cose_key = OKPKey(crv=Ed25519, d=bytes(sk), x=bytes(sk.verify_key))

    # what diag signs, checked by pycose
    cid, data = signed(remote, rig.device_id, "selftest")
    # Sign1Message.decode(data) expects cbor2 < 6, which gave a list inside a tag (6.x gives a
    # tuple, and a frozendict for a map): the outer tag is read here, the rest (protected header,
    # Sig_structure, EdDSA) by pycose.
    outer = cbor2.loads(data)
    assert outer.tag == 18
    protected, unprotected, payload, signature = outer.value
    msg = Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature], True)
    msg.key = OKPKey(crv=Ed25519, x=bytes(sk.verify_key))
    assert msg.verify_signature()
    assert cbor2.loads(msg.payload)["id"] == cid

    # what pycose signs, executed by the device
    cid2, payload = signing.command_payload(rig.device_id, "ping", {"host": "127.0.0.1", "count": 1},
                                            int(time.time()), int(time.time()) + 60)
    m = Sign1Message(phdr={Algorithm: EdDSA}, payload=payload)
    m.key = cose_key
    sup = Support(broker, rig.device_id)
    try:
        n = sup.send(m.encode())
        ans = sup.wait_answer(cid2, n)
    finally:
        sup.close()
    assert ans is not None and ans["status"] == "ok" and ans["result"]["received"] == 1, (ans, rig.log_text())


def test_each_refusal_answers_why_and_starts_nothing(tmp_path, broker, remote, agents):
    rig = start_agent(agents, tmp_path, broker, remote)
    dev = rig.device_id
    before = len(remote.ran())
    sup = Support(broker, dev)
    try:
        def refused(data: bytes, cid: bytes | None) -> str:
            n = sup.send(data)
            ans = sup.wait_answer(cid, n)
            assert ans is not None, rig.log_text()
            assert ans["status"] == "refused" and "result" not in ans, ans
            return str(ans["reason"])

        from nacl.signing import SigningKey

        ping = {"host": "127.0.0.1", "count": 1}
        cid, forged = signed(remote, dev, "ping", ping, key=SigningKey.generate())
        assert refused(forged, cid) == "bad signature"
        _, good = signed(remote, dev, "ping", ping)
        parts = list(cbor2.loads(good).value)
        parts[3] = bytes(64)
        assert refused(cbor2.dumps(cbor2.CBORTag(18, parts)), cid=None) == "bad signature"
        cid, payload = signing.command_payload(dev, "ping", ping, int(time.time()), int(time.time()) + 60)
        assert "unsigned" in refused(payload, None)  # a bare payload, no envelope
        cid, other = signed(remote, "someone-else", "ping", ping)
        assert refused(other, cid) == "addressed to another device"
        cid, old = signed(remote, dev, "ping", ping, issued=int(time.time()) - 600, ttl=60)
        assert refused(old, cid) == "expired"
        cid, future = signed(remote, dev, "ping", ping, issued=int(time.time()) + 900)
        assert "future" in refused(future, cid)
        cid, long_lived = signed(remote, dev, "ping", ping, ttl=86400)
        assert "validity" in refused(long_lived, cid)
        for verb, args, why in (("reboot", {}, "unknown verb"),
                                ("ping", {"host": "127.0.0.1", "flood": 1}, "unknown argument flood"),
                                ("ping", {}, "missing argument host"),
                                ("ping", {"host": "127.0.0.1", "count": 11}, "argument count: out of range 1..10"),
                                ("ping", {"host": "127.0.0.1", "count": "3"}, "argument count: must be an integer"),
                                ("events", {"count": 0}, "argument count: out of range 1..100"),
                                ("dns", {}, "missing argument name")):
            cid, data = signed(remote, dev, verb, args)
            assert refused(data, cid) == why, (verb, args)
        # replayed: the first delivery runs, the same message again is refused
        cid, once = signed(remote, dev, "snapshot")
        n = sup.send(once)
        assert sup.wait_answer(cid, n)["status"] == "ok"
        assert refused(once, cid) == "replayed id"
    finally:
        sup.close()
    assert remote.ran()[before:] == []  # not one process started
    log = rig.log_text()
    assert log.count("refused:") == 15 and "Traceback" not in log
    exported = json.loads(rig.cli("export").stdout)["commands"]
    assert [c["status"] for c in exported].count("refused") == 15
    assert {"id", "verb", "status", "ts", "reason"} <= set(exported[0])


def test_replay_window_survives_an_agent_restart(tmp_path, broker, remote, agents):
    rig = start_agent(agents, tmp_path, broker, remote)
    cid, data = signed(remote, rig.device_id, "snapshot")
    sup = Support(broker, rig.device_id)
    try:
        assert sup.wait_answer(cid, sup.send(data))["status"] == "ok"
        rig.stop()
        rig.start(env=remote.agent_env())
        deadline = time.monotonic() + 20
        while rig.log_text().count("connected to") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        ans = sup.wait_answer(cid, sup.send(data))
        assert ans["status"] == "refused" and ans["reason"] == "replayed id", ans
    finally:
        sup.close()


@pytest.mark.parametrize("host", ["-f", "127.0.0.1;touch /tmp/uxip-pwned", "$(touch /tmp/uxip-pwned)",
                                  "127.0.0.1 -f", "a" * 4096, "rüter.example", "127.0.0.1\n-f", "--help",
                                  "`id`", "fe80::1%eth0", ""])
def test_argument_injection_is_refused_before_anything_runs(tmp_path, broker, remote, agents, host):
    rig = start_agent(agents, tmp_path, broker, remote)
    before = len(remote.ran())
    rc, out, err = remote.diag(rig.device_id, "ping", f"host={host}")
    assert rc == 1 and out["status"] == "refused", (out, err)
    assert out["reason"].startswith("argument host:"), out
    rc, out, _ = remote.diag(rig.device_id, "dns", f"name={host}")
    assert rc == 1 and out["status"] == "refused" and out["reason"].startswith("argument name:"), out
    assert remote.ran()[before:] == []
    assert not Path("/tmp/uxip-pwned").exists()


def test_junk_on_the_cmd_topic_leaves_the_agent_running_and_answering(tmp_path, broker, remote, agents):
    rig = start_agent(agents, tmp_path, broker, remote)
    dev = rig.device_id
    _, good = signed(remote, dev, "snapshot")
    tag = cbor2.loads(good)
    protected_es256 = cbor2.dumps({1: -7})
    wrong_alg = cbor2.dumps(cbor2.CBORTag(18, [protected_es256, {}, tag.value[2], tag.value[3]]))
    junk = {
        "random": secrets.token_bytes(300),
        "truncated": good[: len(good) // 2],
        "untagged": cbor2.dumps(tag.value),
        "wrong algorithm": wrong_alg,
        "1 MiB": b"\x58\x00" + secrets.token_bytes(1024 * 1024),
        "deep": b"\x81" * 10000,
        "empty": b"",
        "tag 18 on a map": cbor2.dumps(cbor2.CBORTag(18, {"a": 1})),
    }
    sup = Support(broker, dev)
    try:
        for name, data in junk.items():
            ans = sup.wait_answer(None, sup.send(data))
            assert ans is not None and ans["status"] == "refused", (name, ans)
            assert rig.proc.poll() is None, (name, rig.log_text())
        assert "unsupported algorithm" in json.dumps(
            [a.get("reason") for a in sup.answers]), sup.answers
    finally:
        sup.close()
    rc, out, _ = remote.diag(dev, "snapshot")
    assert rc == 0 and out["status"] == "ok", rig.log_text()
    assert "Traceback" not in rig.log_text()


def test_busy_while_a_tool_runs_sampling_goes_on_then_the_rate_limit(tmp_path, broker, remote, agents):
    sub = Subscriber(broker, "uxip/v1/+/telemetry")
    rig = start_agent(agents, tmp_path, broker, remote)
    dev = rig.device_id
    sup = Support(broker, dev)
    try:
        cid_ping, ping = signed(remote, dev, "ping", {"host": "127.0.0.1", "count": 4})
        n = sup.send(ping)
        time.sleep(0.5)
        batches_before = len([m for m in sub.telemetry() if m["device_id"] == dev])
        cid, snap = signed(remote, dev, "snapshot")
        ans = sup.wait_answer(cid, sup.send(snap))
        assert ans["status"] == "refused" and ans["reason"] == "busy", ans
        done = sup.wait_answer(cid_ping, n, 20)
        assert done["status"] == "ok" and done["result"]["sent"] == 4, done
        # the loop kept sampling and reporting while ping ran (~3 s, report_s = 2)
        assert len([m for m in sub.telemetry() if m["device_id"] == dev]) > batches_before
        statuses = []
        for _ in range(10):  # the ping was the 1st of this minute: 9 more run, the 11th is refused
            cid, data = signed(remote, dev, "selftest")
            statuses.append(sup.wait_answer(cid, sup.send(data))["status"])
        assert statuses[:9] == ["ok"] * 9 and statuses[9] == "refused", statuses
        assert sup.answers[-1]["reason"].startswith("rate limit"), sup.answers[-1]
    finally:
        sup.close()
        sub.close()


def test_opted_out_nothing_runs_and_the_log_is_erased(tmp_path, broker, remote, agents):
    rig = start_agent(agents, tmp_path, broker, remote)
    rc, _out, _ = remote.diag(rig.device_id, "selftest")
    assert rc == 0 and len(json.loads(rig.cli("status").stdout)["commands"]) == 1
    before = len(remote.ran())
    rig.set_toggle("0\n")
    assert rig.wait_log("consent withdrawn", 5)
    time.sleep(1.5)  # the agent has disconnected: it is not subscribed to anything any more
    rc, out, _ = remote.diag(rig.device_id, "ping", "host=127.0.0.1", timeout_s=3)
    assert rc == 1 and out["status"] == "timeout" and "consent_withdrawn" in out["reason"], out
    assert remote.ran()[before:] == []
    assert json.loads(rig.cli("export").stdout)["commands"] == []  # erased with everything else
    assert not (rig.state_dir / "commands.cbor").exists()


def test_without_a_verify_key_the_agent_does_not_subscribe(tmp_path, broker, remote, agents):
    dev = f"nokey-{os.getpid()}"
    rig = AgentRig(tmp_path / dev, broker, dev)
    agents.append(rig)
    rig.start(env=remote.agent_env())
    assert rig.wait_log("connected to", 20)
    time.sleep(1)
    assert f"uxip/v1/{dev}/cmd" not in broker.log_text()
    rc, out, _ = remote.diag(dev, "snapshot", timeout_s=2)
    assert rc == 1 and out["status"] == "timeout"


def test_a_bad_verify_key_stops_the_agent_at_start_with_one_line(tmp_path, broker):
    bad = tmp_path / "bad.pub"
    bad.write_text("this is not a key\n")
    rig = AgentRig(tmp_path / "badkey", broker, "badkey-1", extra=f'[commands]\nverify_key_file = "{bad}"\n')
    rig.start()
    assert rig.proc.wait(20) == 2
    assert rig.log_text().strip() == f"zte-uxip: config: commands.verify_key_file: {bad}: not base64"


def test_selftest_and_link_classify_what_the_device_went_through(tmp_path, broker, remote, agents):
    """The broker was unreachable at first (the path cut): once the device is back, selftest
    says so from its own history; clock sync is the kernel's word."""
    from tcpproxy import TcpProxy

    from zte_uxip.remote.diagnose import clock_synced

    proxy = TcpProxy(broker.port)  # not up: connections refused

    class Via:
        def __getattr__(self, name):
            return getattr(broker, name)

        port = proxy.port

    dev = f"cls-{os.getpid()}"
    rig = AgentRig(tmp_path / dev, Via(), dev, extra=remote.agent_extra())
    agents.append(rig)
    rig.start(env=remote.agent_env())
    try:
        assert rig.wait_log("Connection refused", 20), rig.log_text()
        proxy.up()
        assert wait_subscribed(broker, dev, 30), rig.log_text()
        rc, out, _ = remote.diag(dev, "selftest")
        assert rc == 0, out
        codes = {f["code"]: f.get("detail", "") for f in out["result"]["findings"]}
        assert "broker_unreachable" in codes and "Connection refused" in codes["broker_unreachable"], codes
        assert ("clock_not_synced" in codes) == (clock_synced() is False) == (out["result"]["clock"]["synced"] is False)
        assert "consent_off" not in codes
        rc, out, _ = remote.diag(dev, "link")
        assert rc == 0 and "broker_unreachable" in {f["code"] for f in out["result"]["findings"]}, out
    finally:
        proxy.down()
