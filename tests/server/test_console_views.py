"""The console's views and permissions, in process (Django's test client): who may see and do
what, the audit entries every access leaves, and device text shown as text."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.utils.html import escape
from server import histories
from server.consolehelp import PASSWORD, login, make_user

from zte_uxip.server.store.models import AuditEntry, Batch, Device, Tombstone

DEV = "flaky-radio-01"


@pytest.fixture
def flaky(db):
    return histories.build(histories.poor_radio_drops())


def _urls(dev: str) -> list[tuple[str, str]]:
    return [("get", "/devices/"), ("get", f"/devices/{dev}/"), ("post", f"/devices/{dev}/export/"),
            ("get", f"/devices/{dev}/erase/"), ("post", f"/devices/{dev}/erase/"),
            ("post", f"/devices/{dev}/command/"), ("get", "/audit/"), ("get", "/users/"),
            ("post", "/users/"), ("post", "/users/x/delete/"), ("post", "/users/x/role/")]


def test_anonymous_is_sent_to_login_everywhere(client, flaky):
    for method, url in _urls(DEV):
        r = getattr(client, method)(url)
        assert r.status_code == 302 and r["Location"].startswith("/login/?next="), url
    assert client.get("/").status_code == 302
    assert not AuditEntry.objects.exists()


def test_login_form_and_lockout(client, flaky):
    make_user("alice", "support")
    page = client.get("/login/").content.decode()
    assert 'name="username"' in page and 'name="password"' in page and "csrfmiddlewaretoken" in page
    r = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert r.status_code == 200 and "Wrong user name or password" in r.content.decode()
    r = client.post("/login/?next=/devices/", {"username": "alice", "password": PASSWORD, "next": "/devices/"})
    assert r.status_code == 302 and r["Location"] == "/devices/"
    assert client.get("/devices/").status_code == 200
    # django-axes: five failures lock the user out from that address, even with the right password
    other = Client()
    for _ in range(5):
        other.post("/login/", {"username": "alice", "password": "guess"})
    r = other.post("/login/", {"username": "alice", "password": PASSWORD})
    assert r.status_code == 429


def test_no_role_sees_nothing(client, flaky):
    login(client, None)
    for method, url in _urls(DEV):
        assert getattr(client, method)(url).status_code in (403, 405), url


def test_support_sees_devices_but_cannot_export_erase_audit_or_manage(client, flaky):
    login(client, "support")
    r = client.get("/devices/")
    assert r.status_code == 200 and DEV in r.content.decode()
    r = client.get(f"/devices/{DEV}/")
    page = r.content.decode()
    assert r.status_code == 200
    assert "CRITICAL" not in page or "PROBLEM" in page
    assert "wan_drops" in page and "drops_poor_radio" in page and "Next step" in page
    assert "Export JSON" not in page and "Erase" not in page
    assert 'name="verb" value="ping"' in page  # support runs diagnostics
    assert client.post(f"/devices/{DEV}/export/").status_code == 403
    assert client.get(f"/devices/{DEV}/erase/").status_code == 403
    assert client.post(f"/devices/{DEV}/erase/", {"confirm": DEV}).status_code == 403
    assert Device.objects.filter(device_id=DEV).exists()
    assert client.get("/audit/").status_code == 403
    assert client.get("/users/").status_code == 403
    assert not AuditEntry.objects.filter(action__in=["export", "erase"]).exists()


def test_device_page_is_audited_and_shows_state_findings_charts_timeline(client, flaky):
    from zte_uxip.server.commands.models import Command

    Command.objects.create(command_id="ab" * 16, device_id=DEV, verb="ping", args={"host": "example.net", "count": 3},
                           issued_by="sam", issued_ts=flaky.last_seen_ts - 60, status="ok",
                           result={"loss_pct": 0, "rtt_ms_avg": 41.5}, answered_ts=flaky.last_seen_ts - 55)
    login(client, "support", "sam")
    for rng, bucket in (("24h", 300), ("7d", 1800), ("30d", 7200)):
        r = client.get(f"/devices/{DEV}/?range={rng}", REMOTE_ADDR="192.0.2.7")
        page = r.content.decode()
        assert r.status_code == 200
        assert page.count("<svg") == 6
        for label in ("RSRP average", "SINR average", "download", "CPU", "memory used", "wlan0", "wlan1", "dBm",
                      "Mbit/s", "UTC", "WAN drop ("):
            assert label in page, label
    a = AuditEntry.objects.filter(action="view", device_id=DEV).order_by("id")
    assert [e.detail for e in a] == ["device page, 24h", "device page, 7d", "device page, 30d"]
    assert {(e.username, e.remote_addr) for e in a} == {("sam", "192.0.2.7")}
    assert "online" in page and "MF286R_EU_B12" in page and "2024-05" in page and "0.1.0" in page
    assert "PROBLEM" in page and "The WAN dropped 42 times" in page
    # the disconnect timeline: cause, duration, radio at the drop, the full snapshot
    assert re.search(r'<tr class="poor">\s*<td>[^<]+UTC</td><td>[^<]+</td><td>(route_lost|modem_detached|address_lost)',
                     page)
    assert "snapshot at the drop" in page
    # the commands run on it
    assert "example.net" in page and "rtt_ms_avg" in page and "sam" in page


def test_unknown_and_withdrawn_device_pages(client, db):
    login(client, "support")
    assert client.get("/devices/nope/").status_code == 404
    Tombstone.objects.create(device_id="gone-01", withdrawn_ts=1_700_000_000, region="eu", policy_version="3")
    r = client.get("/devices/gone-01/")
    assert r.status_code == 200 and "withdrew consent" in r.content.decode()
    r = client.get("/devices/?q=gone")
    assert "gone-01" in r.content.decode()


def test_search_by_id(client, db):
    histories.build(histories.healthy("abc-123", days=1))
    histories.build(histories.roaming("xyz-789", days=1))
    login(client, "support")
    page = client.get("/devices/?q=abc").content.decode()
    assert "abc-123" in page and "xyz-789" not in page
    r = client.get("/devices/?q=xyz-789")  # an exact id goes straight to the device
    assert r.status_code == 302 and r["Location"] == "/devices/xyz-789/"


def test_privacy_exports_and_erases(client, flaky):
    login(client, "privacy", "pat")
    page = client.get(f"/devices/{DEV}/").content.decode()
    assert "Export JSON" in page and "Erase" in page and 'name="verb"' not in page
    r = client.post(f"/devices/{DEV}/export/")
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    assert r["Content-Disposition"] == 'attachment; filename="device-export.json"'
    data = json.loads(b"".join(r.streaming_content))
    assert data["device_id"] == DEV and data["region"] == "eu" and data["status"]["state"] == "online"
    assert len(data["batches"]) == Batch.objects.filter(device__device_id=DEV).count()
    assert [b["seq"] for b in data["batches"][:3]] == [1, 2, 3]
    assert data["batches"][0]["snapshots"][0]["cellular"]["rat"] == "lte"
    assert any(a["action"] == "export" and a["username"] == "pat" for a in data["audit"])
    assert client.get(f"/devices/{DEV}/export/").status_code == 405  # a download is a POST (CSRF-protected)
    # erase: a confirmation page; a wrong confirmation erases nothing
    assert "Type the device id" in client.get(f"/devices/{DEV}/erase/").content.decode()
    assert client.post(f"/devices/{DEV}/erase/", {"confirm": "flaky"}).status_code == 400
    assert Device.objects.filter(device_id=DEV).exists()
    r = client.post(f"/devices/{DEV}/erase/", {"confirm": DEV})
    assert r.status_code == 200 and "batches" in r.content.decode()
    assert not Device.objects.filter(device_id=DEV).exists() and not Batch.objects.exists()
    e = AuditEntry.objects.get(action="erase")
    assert (e.username, e.device_id, e.remote_addr) == ("pat", DEV, "127.0.0.1")
    r = client.get("/audit/")
    assert r.status_code == 200 and "erase" in r.content.decode()
    assert AuditEntry.objects.filter(action="audit_view", username="pat").exists()
    assert client.get("/users/").status_code == 403


def test_audit_log_filters_by_device(client, flaky):
    histories.build(histories.healthy("other-01", days=1))
    login(client, "admin", "ada")
    client.get(f"/devices/{DEV}/")
    client.get("/devices/other-01/")
    page = client.get(f"/audit/?device={DEV}").content.decode()
    assert "device page, 7d" in page and "other-01" not in page.split("<tbody>")[1]


def test_admin_manages_users(client, db):
    from django.contrib.auth.models import User

    login(client, "admin", "root-admin")
    assert client.get("/users/").status_code == 200
    r = client.post("/users/", {"username": "sue", "password": "short", "role": "support"})
    assert r.status_code == 400 and not User.objects.filter(username="sue").exists()
    r = client.post("/users/", {"username": "sue", "password": PASSWORD, "role": "support"})
    assert r.status_code == 302
    sue = User.objects.get(username="sue")
    assert list(sue.groups.values_list("name", flat=True)) == ["support"] and sue.check_password(PASSWORD)
    assert client.post("/users/sue/role/", {"role": "privacy"}).status_code == 302
    assert list(sue.groups.values_list("name", flat=True)) == ["privacy"]
    assert client.post("/users/root-admin/delete/").status_code == 400  # not yourself
    assert client.post("/users/sue/delete/").status_code == 302
    assert not User.objects.filter(username="sue").exists()
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "detail"))
    assert actions == [("user_add", "user sue role support"), ("user_add", "user sue role set to privacy"),
                       ("user_del", "user sue")]
    # the new user can sign in through the form
    client.post("/users/", {"username": "tom", "password": PASSWORD, "role": "support"})
    c2 = Client()
    assert c2.post("/login/", {"username": "tom", "password": PASSWORD}).status_code == 302


@pytest.fixture
def fake_send(monkeypatch, tmp_path):
    """The real send path (signing, the Command row, the audit entry) with the broker replaced
    by a list of what would have been published."""
    from zte_uxip.server import conf, signing
    from zte_uxip.server.commands import send
    from zte_uxip.server.console import views

    key_path, _pub = signing.keygen(str(tmp_path / "cmd"))
    for name in ("ca.pem", "server.pem", "server.key"):
        (tmp_path / name).write_text("unused: publish_once is replaced\n")
    cfg = conf.from_dict({
        "broker": {"host": "127.0.0.1", "ca_file": str(tmp_path / "ca.pem"),
                   "cert_file": str(tmp_path / "server.pem"), "key_file": str(tmp_path / "server.key")},
        "commands": {"signing_key_file": key_path},
    })
    published = []
    monkeypatch.setattr(views, "_cfg", lambda: cfg)
    monkeypatch.setattr(send, "publish_once", lambda broker, topic, payload: published.append((topic, payload)))
    calls = []

    def sent():  # (device, verb, args, issued_by) of every recorded command, oldest first
        from zte_uxip.server.commands.models import Command

        calls[:] = [(c.device_id, c.verb, c.args, c.issued_by) for c in Command.objects.order_by("id")]
        assert len(published) == len(calls)
        return calls

    return sent


def test_support_runs_a_command_audited(client, flaky, fake_send):
    login(client, "support", "sam")
    r = client.post(f"/devices/{DEV}/command/", {"verb": "ping", "host": "example.net", "count": "3"})
    assert r.status_code == 302 and r["Location"] == f"/devices/{DEV}/#commands"
    assert fake_send() == [(DEV, "ping", {"host": "example.net", "count": 3}, "sam")]
    e = AuditEntry.objects.get(action="command")
    assert (e.username, e.device_id) == ("sam", DEV) and "ping" in e.detail and "example.net" in e.detail
    for bad in ({"verb": "shell"}, {"verb": "ping", "host": "-oProxy", "count": "3"},
                {"verb": "ping", "host": "a b", "count": "3"}, {"verb": "events", "count": "101"}):
        assert client.post(f"/devices/{DEV}/command/", bad).status_code == 400, bad
    assert len(fake_send()) == 1 and AuditEntry.objects.filter(action="command").count() == 1


def test_command_needs_support_role_and_csrf(flaky, fake_send):
    c = Client(enforce_csrf_checks=True)
    login(c, "support", "sam")
    assert c.post(f"/devices/{DEV}/command/", {"verb": "snapshot"}).status_code == 403  # no CSRF token
    page = c.get(f"/devices/{DEV}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert c.post(f"/devices/{DEV}/command/", {"verb": "snapshot", "csrfmiddlewaretoken": token}).status_code == 302
    assert fake_send() == [(DEV, "snapshot", {}, "sam")]
    p = Client()
    login(p, "privacy")
    assert p.post(f"/devices/{DEV}/command/", {"verb": "snapshot"}).status_code == 403
    assert len(fake_send()) == 1


def test_command_the_broker_refused_is_502_and_marked_failed(client, flaky, fake_send, monkeypatch):
    from zte_uxip.server.commands import send
    from zte_uxip.server.commands.models import Command

    def refuse(broker, topic, payload):
        raise send.SendError("broker 127.0.0.1:8883: Connection refused")

    monkeypatch.setattr(send, "publish_once", refuse)
    login(client, "support")
    r = client.post(f"/devices/{DEV}/command/", {"verb": "selftest"})
    assert r.status_code == 502 and r.content.decode().count("\n") == 1
    assert "Connection refused" in r.content.decode()
    assert Command.objects.get().status == "failed"
    assert AuditEntry.objects.filter(action="command").count() == 1  # the attempt is on record


@pytest.mark.parametrize("text", histories.HOSTILE)
def test_device_text_is_shown_as_text(client, db, text):
    histories.build(histories.hostile("hostile-01", text=text))
    login(client, "admin")
    for url in ("/devices/", "/devices/hostile-01/?range=24h", "/audit/"):
        r = client.get(url)
        page = r.content.decode()
        assert r.status_code == 200
        if escape(text) != text:
            assert text not in page, url  # never raw markup
        assert "javascript:" not in re.findall(r'href="([^"]*)"', page), url
        assert not any(h.startswith("javascript:") for h in re.findall(r'(?:href|src|action)="([^"]*)"', page))
        assert "<script" not in page.replace("&lt;script", "")
        assert " style=" not in page  # the CSP forbids inline style: none of ours either
    page = client.get("/devices/hostile-01/?range=24h").content.decode()
    assert escape(text[:32]) in page  # shown, as text
    if "{{" in text:
        assert "{{ 7|add:7 }}{% now &quot;Y&quot; %}" in page  # not evaluated


def test_security_headers(client, flaky):
    login(client, "support")
    r = client.get(f"/devices/{DEV}/")
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert r["X-Frame-Options"] == "DENY"
    css = client.get("/static/console.css")
    assert css.status_code == 200 and b".health-critical" in b"".join(css.streaming_content)
    assert client.get("/static/../urls.py").status_code == 404


def test_sign_out_is_a_post(client, flaky):
    login(client, "support")
    assert client.get("/logout/").status_code == 405
    r = client.post("/logout/")
    assert r.status_code == 302 and r["Location"] == "/login/"
    assert client.get("/devices/")["Location"].startswith("/login/")


def test_console_verb_refuses_a_bad_listen_with_one_line(tmp_path, capsys):
    from zte_uxip.server import cli

    cfg = tmp_path / "server.toml"
    cfg.write_text('[console]\nlisten = "nohostport"\n')
    assert cli.main(["console", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "console.listen: 'nohostport' is not HOST:PORT" in err
