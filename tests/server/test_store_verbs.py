"""The store verbs as an operator runs them: the real `zte-uxip-server` console script with a
server TOML, on a store (SQLite or PostgreSQL, per ZTE_UXIP_TEST_STORE) filled with real
encoded batches (storefill.scenario), at a fixed time (ZTE_UXIP_SERVER_NOW)."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest
from storefill import HOUR, NOW

from zte_uxip.wire import codec

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVER = str(BIN / "zte-uxip-server")
ME = f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"


class Store:
    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp = tmp
        self.cbor_dir = tmp / "cbor"
        self.config = tmp / "server.toml"
        self.config.write_text(f"""region = "eu"
[store]
url = "{url}"
[retention]
days = 30
audit_days = 730
[console]
secret_key_file = "{tmp / 'console.secret'}"
offline_after_s = 900
""")

    def fill(self) -> Store:
        r = subprocess.run([sys.executable, str(ROOT / "tests/server/fill_store.py"), str(self.config),
                            str(self.cbor_dir)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return self

    def run(self, *args: str, now: int = NOW, stdin: str = "", rc: int = 0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ZTE_UXIP_SERVER_NOW": str(now)}
        r = subprocess.run([SERVER, *args, "--config", str(self.config)], capture_output=True, text=True,
                           input=stdin, env=env, timeout=300)
        assert "Traceback" not in r.stderr, r.stderr
        assert r.returncode == rc, (r.returncode, r.stdout, r.stderr)
        return r

    def json(self, *args: str, now: int = NOW) -> object:
        return json.loads(self.run(*args, "--json", now=now).stdout)

    def audit(self, device: str | None = None) -> list[dict]:
        extra = ("--device", device) if device else ()
        return self.json("audit", *extra)  # type: ignore[return-value]


@pytest.fixture
def store(tmp_path: Path, store_url: str) -> Store:
    return Store(tmp_path, store_url).fill()


def one_line_error(r: subprocess.CompletedProcess[str], verb: str, text: str) -> None:
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"zte-uxip-server: {verb}: "), r.stderr
    assert text in r.stderr


def test_devices_shows_state_last_seen_and_batches_tombstones_included(store: Store):
    rows = {d["device_id"]: d for d in store.json("devices")}
    assert rows["zx-alpha"]["state"] == "online"
    assert rows["zx-beta"]["state"] == "offline"  # silent for 2 h > offline_after_s 900
    assert rows["zx-beta"]["batches"] == 6
    assert rows["zx-gone"] == {"device_id": "zx-gone", "last_seen": NOW - 3 * 86400,
                               "state": "consent_withdrawn", "batches": 0}
    assert rows["zx-alpha"]["last_seen"] == NOW - 120 + 2  # the newest batch's arrival
    table = store.run("devices").stdout.splitlines()
    assert table[0].split() == ["DEVICE", "LAST", "SEEN", "(UTC)", "STATE", "BATCHES"]
    assert [line.split()[0] for line in table[1:]] == ["zx-alpha", "zx-beta", "zx-gone", "zx-old"]
    # An hour later without a word from it, the online device reads offline too.
    later = {d["device_id"]: d["state"] for d in store.json("devices", now=NOW + HOUR)}
    assert later["zx-alpha"] == "offline"


def test_show_short_window_is_sample_by_sample_with_the_outage(store: Store):
    out = store.run("show", "zx-alpha", "--since", "90m").stdout
    assert "device   zx-alpha   state online   region eu" in out
    assert "ZTE MF289F   firmware BD_MF289F_V1.0   agent 0.1.0" in out
    assert "sample by sample" in out
    rows = [line for line in out.splitlines() if line.startswith("2026-")]
    assert len(rows) == 90  # one a minute for 90 minutes, plus the second snapshot of one batch
    down = [r for r in rows if " DOWN " in r]
    assert len(down) == 1
    assert sum("nr5g-nsa" in r for r in rows) == 8  # NOW-540 .. NOW-120: the newest batch is 2 min old
    assert "disconnects: 1" in out
    assert "95 s  cause carrier_lost  field data: wan wwan0, rat lte, plmn 310260, rsrp -118 dBm" in out


def test_show_json_per_hour_over_30_days(store: Store):
    view = store.json("show", "zx-alpha", "--since", "30d")
    assert view["since_ts"] == NOW - 30 * 86400 and view["until_ts"] == NOW
    assert view["device"]["state"] == "online" and view["device"]["batches"] == 317
    tl = view["timeline"]
    assert tl["every"] == "hour"
    assert all(r["ts"] % 3600 == 0 for r in tl["rows"])
    by_hour = {r["ts"]: r for r in tl["rows"]}
    outage_hour = by_hour[(NOW - 1860) // 3600 * 3600]  # the one sample with the WAN down
    assert 0 < outage_hour["wan_up_pct"] < 100
    assert [r["ts"] for r in tl["rows"] if r["wan_up_pct"] != 100] == [outage_hour["ts"]]
    assert sum(r["samples"] for r in tl["rows"]) == len([
        1 for f in store.cbor_dir.glob("zx-alpha-*.cbor") for s in codec.decode(f.read_bytes())["snapshots"]
        if s["ts"] >= NOW - 30 * 86400])
    night = [r for r in tl["rows"] if (r["ts"] // 3600) % 24 < 6 and r["samples"] == 1]
    assert night and all(r["rsrp_dbm_min"] == -110 for r in night)
    assert {r["rat"] for r in tl["rows"]} == {"lte", "nr5g-nsa"}
    assert [(d["cause"], d["duration_s"]) for d in view["disconnects"]] == [("carrier_lost", 95)]
    assert view["disconnects"][0]["snapshot"]["cellular"]["rsrp_dbm"] == -118
    older = store.json("show", "zx-alpha", "--since", "40d")
    assert [d["duration_s"] for d in older["disconnects"]] == [40, 95]


def test_show_and_export_are_audited_with_the_cli_user(store: Store):
    store.run("show", "zx-alpha", "--since", "2h")
    store.run("export", "zx-alpha", "--out", str(store.tmp / "a.json"))
    mine = [a for a in store.audit("zx-alpha") if a["username"] == ME]
    assert [(a["action"], a["remote_addr"], a["ts"]) for a in mine] == [("export", "cli", NOW), ("view", "cli", NOW)]
    assert mine[1]["detail"] == "show --since 2h"
    table = store.run("audit").stdout
    assert f"{ME}" in table and "export" in table and "10.0.0.7" in table


BAD_INPUT = [
    (("show", "zx-nobody"), "unknown device zx-nobody"),
    (("show", "zx-alpha", "--since", "3x"), "--since: '3x' is not a duration"),
    (("show", "zx-alpha", "--since", "0d"), "--since: '0d' is not a duration"),
    (("show", "zx-alpha", "--since=-5m"), "is not a duration"),
    (("show", "zx-alpha", "--since", "9999999d"), "longer than 3650 days"),
    (("show", "bad/id+#"), "'bad/id+#' is not a device id"),
    (("export", "zx-nobody"), "unknown device zx-nobody"),
    (("erase", "zx-nobody"), "unknown device zx-nobody"),
    (("audit", "--device", "x\ny"), "is not a device id"),
]


def test_bad_input_is_one_line_exit_2(store: Store):
    for args, text in BAD_INPUT:
        one_line_error(store.run(*args, rc=2), args[0], text)
    assert [a for a in store.audit() if a["username"] == ME] == []  # nothing was read


def test_export_holds_every_batch_as_zte_uxip_decode_prints_it(store: Store):
    out = store.tmp / "export.json"
    out.write_text("old contents")
    out.chmod(0o644)
    r = store.run("export", "zx-alpha", "--out", str(out))
    assert r.stdout == "" and "exported 317 batches of zx-alpha" in r.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    doc = json.loads(out.read_text())
    assert list(doc) == ["device_id", "exported_at", "region", "status", "batches", "commands", "audit"]
    assert (doc["device_id"], doc["exported_at"], doc["region"]) == ("zx-alpha", NOW, "eu")
    assert doc["status"]["state"] == "online" and doc["status"]["model"] == "MF289F"
    files = sorted(store.cbor_dir.glob("zx-alpha-*.cbor"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert [b["seq"] for b in doc["batches"]] == list(range(1, len(files) + 1))
    for i, (f, got) in enumerate(zip(files, doc["batches"], strict=True)):
        assert got == json.loads(json.dumps(codec.decode(f.read_bytes())))
        if i % 8 == 0 or got["events"] or len(got["snapshots"]) > 1 or i == len(files) - 1:
            # and, for a spread of them (each run costs ~80 ms), exactly what the real CLI prints
            decoded = subprocess.run([str(BIN / "zte-uxip"), "decode", str(f)], capture_output=True, text=True,
                                     check=True).stdout
            assert got == json.loads(decoded)
    assert [(c["id"], c["verb"], c["status"]) for c in doc["commands"]] == [
        ("22" * 16, "snapshot", "timeout"), ("11" * 16, "ping", "ok")]
    assert doc["commands"][1]["result"] == {"loss_pct": 0}
    assert doc["audit"][0]["action"] == "export" and doc["audit"][0]["username"] == ME  # this export itself
    assert {a["username"] for a in doc["audit"]} == {ME, "bob", "carol"}
    # Only this device's data: nothing of zx-beta's
    assert "zx-beta" not in out.read_text()


def test_export_to_stdout_and_of_a_withdrawn_device(store: Store):
    doc = json.loads(store.run("export", "zx-beta").stdout)
    assert len(doc["batches"]) == 6 and doc["status"]["state"] == "offline"
    gone = json.loads(store.run("export", "zx-gone").stdout)
    assert gone["batches"] == [] and gone["status"]["state"] == "consent_withdrawn"
    assert gone["status"]["withdrawn_ts"] == NOW - 3 * 86400


def test_erase_deletes_everything_held_and_says_what(store: Store):
    r = store.run("erase", "zx-alpha")
    assert r.stdout == "erased zx-alpha: 318 samples, 2 events, 317 batches, 2 commands, 1 devices\n"
    one_line_error(store.run("show", "zx-alpha", rc=2), "show", "unknown device zx-alpha")
    assert "zx-alpha" not in [d["device_id"] for d in store.json("devices")]
    assert len(json.loads(store.run("export", "zx-beta").stdout)["batches"]) == 6  # others untouched
    doc = json.loads(store.run("export", "zx-alpha").stdout)  # only the access log is left
    assert doc["batches"] == [] and doc["commands"] == [] and doc["status"]["state"] == "unknown"
    erase = next(a for a in store.audit("zx-alpha") if a["action"] == "erase")
    assert erase["username"] == ME and erase["remote_addr"] == "cli" and "317 batches" in erase["detail"]


def test_retention_with_a_fake_clock(store: Store):
    dry = store.run("retention", "--dry-run").stdout
    assert ("would delete: 43 batches, 43 samples, 1 events, 1 commands, 1 devices, 0 samplerollup, 1 audit, "
            "0 tombstones") in dry
    assert store.json("show", "zx-alpha", "--since", "40d")["device"]["batches"] == 317  # nothing gone yet
    counts = store.json("retention")
    assert counts["cutoff_ts"] == NOW - 30 * 86400
    assert {k: v for k, v in counts.items() if not k.endswith("_ts")} == {
        "dry_run": False, "batches": 43, "samples": 43, "events": 1, "commands": 1, "devices": 1, "audit": 1,
        "tombstones": 0, "samplerollup": 0}
    devices = {d["device_id"]: d for d in store.json("devices")}
    assert "zx-old" not in devices  # nothing left of it
    doc = json.loads(store.run("export", "zx-alpha").stdout)
    assert min(s["ts"] for b in doc["batches"] for s in b["snapshots"]) >= NOW - 30 * 86400
    assert len(doc["batches"]) == devices["zx-alpha"]["batches"] == 317 - 40  # 6-hourly for the first 10 days
    assert [c["verb"] for c in doc["commands"]] == ["ping"]
    assert "carol" not in {a["username"] for a in doc["audit"]}  # 800 days old > audit_days
    sweep = next(a for a in store.audit() if a["action"] == "retention")
    assert sweep["username"] == ME and "43 batches" in sweep["detail"]
    # Ten days later the next sweep takes the next ten days, by sampled time.
    later = store.json("retention", now=NOW + 10 * 86400)
    assert later["batches"] == 40
    left = json.loads(store.run("export", "zx-alpha", now=NOW + 10 * 86400).stdout)["batches"]
    assert min(s["ts"] for b in left for s in b["snapshots"]) >= NOW - 20 * 86400


def test_user_add_and_del_with_roles(store: Store):
    for name, role in (("sam", "support"), ("pia", "privacy"), ("ada", "admin")):
        r = store.run("user", "add", name, "--role", role, stdin="correct horse battery\n")
        assert r.stdout == f"added user {name} with role {role}\n"
    check = subprocess.run([sys.executable, "-c", f"""
import sys
from zte_uxip.server import boot, conf
boot.setup(conf.load({str(store.config)!r}))
from django.contrib.auth.models import User
for u in User.objects.order_by("username"):
    print(u.username, ",".join(g.name for g in u.groups.all()), u.check_password("correct horse battery"))
"""], capture_output=True, text=True, check=True)
    assert check.stdout.splitlines() == ["ada admin True", "pia privacy True", "sam support True"]
    one_line_error(store.run("user", "add", "sam", "--role", "admin", stdin="x y z\n", rc=2), "user",
                   "user sam exists")
    assert store.run("user", "del", "sam").stdout == "deleted user sam\n"
    one_line_error(store.run("user", "del", "sam", rc=2), "user", "no user sam")
    actions = [(a["action"], a["detail"]) for a in store.audit() if a["action"].startswith("user_")]
    assert actions[0] == ("user_del", "sam") and ("user_add", "ada role admin") in actions


USER_BAD_INPUT = [
    (("add", "eve", "--role", "root"), "pw-pw-pw\n", "--role: 'root' is not one of support, privacy, admin"),
    (("add", "eve", "--role", "support"), "\n", "password: empty"),
    (("add", "eve", "--role", "support"), "", "password: empty"),
    (("add", "e ve", "--role", "support"), "pw-pw-pw\n", "is not a user name"),
]


def test_user_bad_input_is_one_line(tmp_path: Path, store_url: str):
    store = Store(tmp_path, store_url)
    for args, stdin, text in USER_BAD_INPUT:
        one_line_error(store.run("user", *args, stdin=stdin, rc=2), "user", text)
