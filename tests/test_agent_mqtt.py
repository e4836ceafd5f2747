"""The agent end to end: the real `zte-uxip run` against a real mosquitto with mutual TLS,
a per-device ACL and a subscriber in the management server's place. Outages are made with a
loopback TCP proxy the test cuts (connections reset, new ones refused) while the broker and
its subscriber stay up, so every message the broker accepted is seen."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import pytest
from agentrig import AgentRig
from broker import CA, Mosquitto, Subscriber, mosquitto_skip_reason
from tcpproxy import TcpProxy

from zte_uxip.spool import FlashStore

pytestmark = pytest.mark.skipif(mosquitto_skip_reason() is not None, reason=mosquitto_skip_reason() or "")


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def sub(broker):
    s = Subscriber(broker)
    yield s
    s.close()


@pytest.fixture
def proxy(broker):
    p = TcpProxy(broker.port).up()
    yield p
    p.down()


class _Via:
    """The broker as the agent sees it: through the proxy's port."""

    def __init__(self, broker, proxy):
        self._b, self.port = broker, proxy.port

    def __getattr__(self, name):
        return getattr(self._b, name)


@pytest.fixture
def rigs():
    started = []
    yield started
    for r in started:
        r.stop(signal.SIGKILL)


def make_rig(rigs, tmp_path, broker, **kw):
    rig = AgentRig(tmp_path / f"agent{len(rigs)}", broker, **kw)
    rigs.append(rig)
    return rig


def seqs(sub):
    return [m["seq"] for m in sub.telemetry()]


def test_telemetry_arrives_decodes_and_status_is_retained(tmp_path, broker, sub, rigs):
    rig = make_rig(rigs, tmp_path, broker).start()
    assert sub.wait(lambda: len(sub.telemetry()) >= 2, 20), rig.log_text()
    first, second = sub.telemetry()[:2]
    assert first["device_id"] == "dev-1" and second["seq"] > first["seq"]
    assert first["consent"] == {"enabled": True, "location": True}
    snap = second["snapshots"][0]
    assert snap["system"]["mem_total_kib"] > 0
    assert any(link["name"] == "lo" for link in snap["links"])
    assert snap["session"]["connects_total"] == 1
    # a subscriber arriving later still sees the device online (retained)
    late = Subscriber(broker, "uxip/v1/dev-1/status")
    try:
        assert late.wait(lambda: late.statuses(), 5)
        status, retained = late.statuses()[0]
        assert status["state"] == "online" and retained
    finally:
        late.close()
    assert rig.stop() == 0
    assert sub.wait(lambda: any(s["state"] == "offline" for s, _ in sub.statuses()), 5)
    assert (rig.state_dir / "clean_shutdown").exists()
    assert "Traceback" not in rig.log_text()


def test_batches_carry_reports_per_batch_snapshots_each_decoded_in_full(tmp_path, broker, sub, rigs):
    rig = make_rig(rigs, tmp_path, broker, sample_s=1, report_s=1, reports_per_batch=3).start()
    assert sub.wait(lambda: len(sub.telemetry()) >= 2, 30), rig.log_text()
    batch = sub.telemetry()[1]
    assert len(batch["snapshots"]) == 3
    ts = [s["ts"] for s in batch["snapshots"]]
    assert ts == sorted(ts)
    for snap in batch["snapshots"]:  # the diffs on the wire decode to whole snapshots again
        lo = next(link for link in snap["links"] if link["name"] == "lo")
        assert {"oper", "rx_bytes_total", "tx_bytes_total", "carrier_changes_total"} <= set(lo)
        assert snap["system"]["mem_total_kib"] > 0


def test_reconnect_resumes_the_tls_session(tmp_path, broker, proxy, rigs):
    """The broker issues session tickets: a reconnect sends no certificates (fewer bytes)."""
    proxy.capture = True
    rig = make_rig(rigs, tmp_path, _Via(broker, proxy), sample_s=1, report_s=60, reconnect_max_s=1).start()
    assert rig.wait_log("connected to", 20), rig.log_text()
    time.sleep(1)
    proxy.down()
    time.sleep(0.5)
    proxy.up()
    assert rig.wait_log("(TLS session resumed)", 20), rig.log_text()
    time.sleep(1)
    first, second = ([d for conn, _dir, _t, d in proxy.chunks if conn == n] for n in (1, 2))
    assert sum(map(len, second)) < sum(map(len, first)) - 1000  # two certificates not sent again


def test_outage_everything_sampled_arrives_after_it_in_order_once(tmp_path, broker, sub, proxy, rigs):
    rig = make_rig(rigs, tmp_path, _Via(broker, proxy)).start()
    assert sub.wait(lambda: len(sub.telemetry()) >= 1, 20), rig.log_text()
    # cut right after a batch arrived, so nothing is in flight at the cut
    n = len(sub.telemetry())
    assert sub.wait(lambda: len(sub.telemetry()) > n, 5)
    proxy.down()
    before = seqs(sub)
    time.sleep(7)  # more than three report intervals
    status = json.loads(rig.cli("status").stdout)
    assert status["connected"] is False and status["spool"]["records"] >= 3
    held = status["spool"]["records"]
    proxy.up()
    assert sub.wait(lambda: len(seqs(sub)) >= len(before) + held, 20), rig.log_text()
    got = seqs(sub)
    assert got == sorted(got) and len(got) == len(set(got)), got  # in order, once
    assert got == list(range(got[0], got[-1] + 1)), got  # nothing lost
    assert json.loads(rig.cli("status").stdout)["session"]["connects_total"] >= 2


def test_sigkill_during_spool_writes_never_corrupts_or_reuses_a_seq(tmp_path, broker, sub, proxy, rigs):
    proxy.down()  # offline throughout: with persist_after_s = 0 every record goes to flash
    rig = make_rig(rigs, tmp_path, _Via(broker, proxy), sample_s=1, report_s=1, persist_after_s=0)
    rng = random.Random(7)
    seen: set[int] = set()
    high = 0
    for _ in range(12):
        rig.start()
        time.sleep(rng.uniform(1.2, 2.6))
        rig.stop(signal.SIGKILL)
        store = FlashStore(str(rig.spool_dir))
        assert store.corrupt_total == 0
        assert not (rig.spool_dir / "quarantine").exists()
        now = {r.seq for r in store.records()}
        new = now - seen
        assert all(s > high for s in new), (sorted(new), high)  # every new record got a fresh number
        if new:
            high = max(new)
        seen |= now
    assert len(seen) >= 6
    proxy.up()
    rig.start()
    assert sub.wait(lambda: set(seqs(sub)) >= seen, 30), (sorted(seen), seqs(sub), rig.log_text())
    got = seqs(sub)
    assert len(got) == len(set(got)) and got == sorted(got)


def test_spool_full_drops_oldest_and_counts(tmp_path, broker, sub, proxy, rigs):
    proxy.down()
    rig = make_rig(rigs, tmp_path, _Via(broker, proxy), sample_s=1, report_s=1, max_bytes=4096).start()
    deadline = time.monotonic() + 30
    status = {}
    while time.monotonic() < deadline:
        status = json.loads(rig.cli("status").stdout)
        if status["spool"]["dropped_total"] >= 3:
            break
        time.sleep(0.5)
    assert status["spool"]["dropped_total"] >= 3 and status["spool"]["bytes"] <= 4096, status
    proxy.up()
    assert sub.wait(lambda: len(sub.telemetry()) >= 2, 20), rig.log_text()
    got = seqs(sub)
    assert min(got) > 1  # the oldest were the ones dropped
    # each batch reports the count as of its making; the ones made from now on carry it all
    assert sub.wait(lambda: any(m["dropped_total"] >= 3 for m in sub.telemetry()), 10), seqs(sub)


def test_opt_out_with_records_queued_empties_the_spool_and_publishes_nothing_more(tmp_path, broker, sub, proxy,
                                                                                  rigs):
    rig = make_rig(rigs, tmp_path, _Via(broker, proxy), sample_s=1, report_s=1, persist_after_s=1).start()
    assert sub.wait(lambda: len(sub.telemetry()) >= 1, 20), rig.log_text()
    proxy.down()
    time.sleep(4)  # records queue up, and after 1 s offline they move to flash
    status = json.loads(rig.cli("status").stdout)
    assert status["spool"]["records"] >= 2 and status["spool"]["on_flash"] >= 1, status
    t0 = time.monotonic()
    assert rig.cli("disable").returncode == 0
    time.sleep(1.0)
    status = json.loads(rig.cli("status").stdout)
    assert status["consent"]["enabled"] is False and status["spool"]["records"] == 0, status
    assert not list(rig.spool_dir.glob("*.rec"))
    n_before = len(sub.telemetry())
    proxy.up()
    # the withdrawn status still reaches the server (retained), then a clean DISCONNECT
    assert sub.wait(lambda: any(s["state"] == "consent_withdrawn" for s, _ in sub.statuses()), 15), rig.log_text()
    time.sleep(3)
    assert len(sub.telemetry()) == n_before  # nothing sampled before the opt-out was sent
    assert sub.statuses()[-1][0]["state"] == "consent_withdrawn"  # no will overwrote it
    assert "Client dev-1 disconnected." in broker.log_text()
    assert time.monotonic() - t0 < 20


def test_opt_out_while_connected_is_silent_within_1s(tmp_path, broker, sub, rigs):
    rig = make_rig(rigs, tmp_path, broker, sample_s=1, report_s=1).start()
    assert sub.wait(lambda: len(sub.telemetry()) >= 2, 20), rig.log_text()
    rig.set_toggle("0\n")
    t0 = time.monotonic()
    assert sub.wait(lambda: any(s["state"] == "consent_withdrawn" for s, _ in sub.statuses()), 1.0)
    withdrawn_at = next(ts for t, m, _r, ts in sub.messages if m.get("state") == "consent_withdrawn")
    assert withdrawn_at - t0 < 1.0
    time.sleep(3)
    late = [m for t, m, _r, ts in sub.messages if ts > withdrawn_at]
    assert late == [], late  # not even the will
    status = json.loads(rig.cli("status").stdout)
    assert status["connected"] is False and status["spool"]["records"] == 0
    # and back: opting in again resumes telemetry
    n = len(sub.telemetry())
    rig.set_toggle("enabled=1\npolicy_version=v2\n")
    assert sub.wait(lambda: len(sub.telemetry()) > n, 10)
    assert sub.telemetry()[-1]["consent"]["policy_version"] == "v2"


def test_opt_out_while_stopped_with_nothing_held_still_tells_the_server_once(tmp_path, broker, sub, rigs):
    """The owner opts out while the agent (or the router) is off, after everything was sent: the
    next start has no record to delete, yet the server must hear the withdrawal to erase what it
    holds. Once it is acknowledged, later starts stay silent."""
    rig = make_rig(rigs, tmp_path, broker, sample_s=1, report_s=1)
    rig.start()
    assert sub.wait(lambda: len(sub.telemetry()) >= 2, 20), rig.log_text()
    assert rig.stop() == 0
    assert not any(m["state"] == "consent_withdrawn" for m, _r in sub.statuses())
    rig.set_toggle("0\n")
    rig.start()
    assert sub.wait(lambda: any(m["state"] == "consent_withdrawn" for m, _r in sub.statuses()), 15), rig.log_text()
    assert rig.wait_log("consent withdrawn", 5)
    time.sleep(1)
    assert rig.stop() == 0
    told = len(sub.messages)
    rig.start()  # still opted out, nothing owed: no connection, no message
    time.sleep(4)
    assert len(sub.messages) == told, sub.messages[told:]
    assert "connected to" not in rig.log_text().split("stopped")[-1]


def test_half_written_toggle_file_is_off(tmp_path, broker, sub, rigs):
    rig = make_rig(rigs, tmp_path, broker, sample_s=1, report_s=1, enabled="enabled=1\n").start()
    assert sub.wait(lambda: len(sub.telemetry()) >= 1, 20), rig.log_text()
    with open(rig.toggle, "w") as fh:  # the writer dies mid-line, in place
        fh.write("enabled=1\npolicy_vers")
    assert sub.wait(lambda: any(s["state"] == "consent_withdrawn" for s, _ in sub.statuses()), 2.0)
    assert rig.wait_log("consent withdrawn", 2)


@pytest.mark.parametrize("case", ["wrong_host", "wrong_ca", "expired_server", "expired_client"])
def test_tls_failure_means_no_connect(tmp_path, rigs, case):
    if case == "wrong_host":
        b = Mosquitto(tmp_path / "b", server_hosts=("broker.example.net",))
    elif case == "expired_server":
        b = Mosquitto(tmp_path / "b", server_expired=True)
    else:
        b = Mosquitto(tmp_path / "b")
    b.start()
    try:
        kw = {}
        if case == "wrong_ca":
            kw["ca"] = CA(tmp_path / "other", "other CA").pem
        if case == "expired_client":
            kw["client_expired"] = True
        rig = make_rig(rigs, tmp_path, b, **kw).start()
        assert rig.wait_log("WARNING zte_uxip.publish: broker 127.0.0.1", 10), rig.log_text()
        time.sleep(2.5)  # a few more attempts with backoff
        rig.stop()
        log = rig.log_text()
        problems = [ln for ln in log.splitlines() if "WARNING" in ln and "broker 127.0.0.1" in ln]
        assert len(problems) == 1, log  # one line per problem, not one per retry
        if case == "expired_client":
            # TLS 1.3: the broker checks the client certificate after the client's side of the
            # handshake, so the client cannot know before it sends CONNECT; the broker never reads it.
            assert "closed before CONNACK" in problems[0], log
        else:
            assert "certificate check failed" in problems[0] and "not connecting" in problems[0], log
            expect = {"wrong_host": ("address mismatch",),
                      "wrong_ca": ("unable to get local issuer", "self-signed certificate in certificate chain"),
                      "expired_server": ("certificate has expired",)}[case]
            assert any(e in problems[0] for e in expect), problems[0]
        blog = b.log_text()
        # the TCP/TLS attempt reached the broker (it logs one or the other, depending on timing)...
        assert "New connection from 127.0.0.1" in blog or "Client connection from 127.0.0.1 failed" in blog, blog
        assert "New client connected" not in blog and "dev-1" not in blog, blog  # ...CONNECT never did
    finally:
        b.stop()


def _mount_tmpfs(path, size):
    if os.geteuid() != 0:
        return "needs root to mount a small tmpfs"
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                       capture_output=True, text=True)
    return None if r.returncode == 0 else f"cannot mount tmpfs: {r.stderr.strip()}"


def test_disk_full_spool_dir_is_one_clear_line_and_the_agent_keeps_running(tmp_path, broker, sub, proxy, rigs):
    spool = tmp_path / "smallfs"
    why = _mount_tmpfs(spool, "12k")
    if why:
        pytest.skip(why)
    try:
        proxy.down()
        rig = make_rig(rigs, tmp_path, _Via(broker, proxy), sample_s=1, report_s=1, persist_after_s=0,
                       spool_dir=spool / "spool").start()
        assert rig.wait_log("disk full", 30), rig.log_text()
        time.sleep(2)
        assert rig.proc.poll() is None  # still running
        status = json.loads(rig.cli("status").stdout)
        assert status["spool"]["records"] > status["spool"]["on_flash"]  # the overflow stayed in RAM
        proxy.up()
        assert sub.wait(lambda: len(sub.telemetry()) >= status["spool"]["records"], 30), rig.log_text()
        got = seqs(sub)
        assert got == sorted(got) and len(got) == len(set(got))
        log = rig.log_text()
        assert log.count("disk full") == 1, log  # one clear line, not one per record
        assert "Traceback" not in log
        rig.stop(signal.SIGKILL)
    finally:
        subprocess.run(["umount", "-l", str(spool)], capture_output=True)


def test_export_and_purge_reach_the_running_agents_ram(tmp_path, broker, proxy, rigs):
    proxy.down()
    rig = make_rig(rigs, tmp_path, _Via(broker, proxy), sample_s=1, report_s=1).start()
    time.sleep(3.5)
    out = tmp_path / "mine.json"
    assert rig.cli("export", "--out", str(out)).returncode == 0
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    data = json.loads(out.read_text())
    assert data["device_id"] == "dev-1" and len(data["records"]) >= 2
    assert all(r["batch"]["device_id"] == "dev-1" for r in data["records"])
    assert data["pending_snapshots"] is not None
    assert any(p.endswith("wan.json") for p in data["state_files"]), data["state_files"].keys()
    assert json.loads(rig.cli("purge").stdout)["purged_records"] >= 2
    assert json.loads(rig.cli("status").stdout)["spool"]["records"] <= 1


@pytest.fixture
def modem():
    """The simulated AT modem (tests/modemsim.py) on a pty; its SPEC for [modem] backend."""
    import sys
    from pathlib import Path

    sim = Path(__file__).parent / "modemsim.py"
    p = subprocess.Popen([sys.executable, str(sim), "--dialect", "zte"], stdout=subprocess.PIPE)
    try:
        yield f"at:{p.stdout.readline().decode().strip()}"
    finally:
        p.kill()
        p.wait(5)


def test_location_withdrawn_alone_stops_location_fields_at_once(tmp_path, broker, sub, proxy, modem, rigs):
    rig = make_rig(rigs, tmp_path, _Via(broker, proxy), sample_s=1, report_s=2,
                   enabled="enabled=1\nlocation=1\npolicy_version=v1\n")
    rig.config.write_text(rig.config.read_text().replace('backend = "none"', f'backend = "{modem}"'))
    rig.start()
    assert sub.wait(lambda: any("cell_id" in (m["snapshots"] or [{}])[0].get("cellular", {})
                                for m in sub.telemetry()), 30), rig.log_text()
    proxy.down()
    time.sleep(5)  # batches with cell IDs wait in the spool
    held = json.loads(rig.cli("status").stdout)["spool"]["records"]
    assert held >= 2
    n = len(sub.telemetry())
    rig.set_toggle("enabled=1\nlocation=0\npolicy_version=v1\n")
    assert rig.wait_log("location withdrawn", 2)
    proxy.up()
    assert sub.wait(lambda: len(sub.telemetry()) >= n + held + 1, 30), rig.log_text()
    after = sub.telemetry()[n:]
    for m in after:  # the spooled ones too: nothing with a location leaves after the withdrawal
        assert m["consent"]["location"] is False
        cell = m["snapshots"][0].get("cellular", {}) if m["snapshots"] else {}
        assert "cell_id" not in cell and "tac" not in cell and "lac" not in cell, cell
        assert cell.get("plmn")  # the rest of the cellular section still flows
