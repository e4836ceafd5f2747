"""The goform backend against a local ZTE WebUI simulator (tests/goformsim.py, a real HTTP
server on a random port): every recorded firmware generation gives its exact normalised
fields; the session, re-login and lockout rules hold; hostile answers cost bounded time, leave
cellular unavailable and never a traceback; the password appears nowhere."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time

import pytest
from conftest import zte_uxip
from goformsim import PROFILES, GoformSim, expected
from hypothesis import given, settings
from hypothesis import strategies as st

from zte_uxip import config
from zte_uxip.collectors import Context
from zte_uxip.collectors import cellular as cell
from zte_uxip.errors import ConfigError, SourceError
from zte_uxip.sampler import Sampler
from zte_uxip.sources import goform
from zte_uxip.sources import goform_parse as gp
from zte_uxip.wire import schema

PASSWORD = "Tr0ub4dor&3-secret"
SECRETS = (PASSWORD, base64.b64encode(PASSWORD.encode()).decode(), PASSWORD.replace("&", "%26"))
PSEUDONYMISED = ("imei", "imsi", "iccid", "msisdn")


@pytest.fixture
def pwfile(tmp_path):
    p = tmp_path / "webui.pw"
    p.write_text(PASSWORD + "\n")
    p.chmod(0o600)
    return str(p)


def logins(sim: GoformSim) -> int:
    return len(sim.logins)


@pytest.mark.parametrize("profile", PROFILES)
def test_each_generation_gives_its_exact_fields_and_keeps_the_session(profile, pwfile):
    with GoformSim(profile, password=PASSWORD) as sim:
        src = goform.GoformSource(sim.url, pwfile)
        assert src.query() == expected(profile)
        assert sim.login_results == ["0"]
        assert src.query() == expected(profile)
        assert src.last_requests == 1 and logins(sim) == 1  # the cookie kept the session
        gets = [h for m, _, h, _ in sim.log if m == "GET"]
        assert all(h["Referer"] == f"{sim.url}/index.html" for h in gets)
        assert sim.meta["session_cookie"] in gets[-1]["Cookie"]


@pytest.mark.parametrize("profile", PROFILES)
def test_login_generation_is_told_by_the_firmware_not_the_model(profile, pwfile):
    with GoformSim(profile, password=PASSWORD) as sim:
        src = goform.GoformSource(sim.url, pwfile)
        src.query()
        assert src.generation == sim.meta["generation"]
        config_js = any(p == "/js/config/config.js" for _, p, _, _ in sim.log)
        assert config_js == (src.generation != "ld-sha256")  # config.js only when no LD salt


def test_expired_session_is_renewed_once_within_the_sample(pwfile):
    with GoformSim("mc888-nsa", password=PASSWORD) as sim:
        src = goform.GoformSource(sim.url, pwfile)
        src.query()
        sim.expire_sessions()
        assert src.query() == expected("mc888-nsa")
        assert logins(sim) == 2 and src.last_requests == 4  # blank answer, LD, LOGIN, answer


def test_refused_password_is_never_sent_again_and_the_lockout_counter_is_left_alone(tmp_path, pwfile):
    with GoformSim("mc888-nsa", password="the-real-one") as sim:
        src = goform.GoformSource(sim.url, pwfile)
        for _ in range(12):  # what the WebUI shows without a login, and no further attempt
            assert src.query() == {"backend": "goform", "rat": "nr5g-nsa"}
        assert logins(sim) == 1 and sim.tries_left == 4 and sim.locked_until == 0
        # a corrected password file is tried at the next allowed moment, once
        with open(pwfile, "w") as fh:
            fh.write("the-real-one\n")
        src._next_login = 0.0
        assert src.query() == expected("mc888-nsa")
        assert logins(sim) == 2


def test_pause_after_refusal_bounds_attempts_with_changing_wrong_passwords(pwfile):
    with GoformSim("mf283-lte", password="the-real-one") as sim:
        src = goform.GoformSource(sim.url, pwfile)
        for i in range(10):
            with open(pwfile, "w") as fh:
                fh.write(f"guess-{i}\n")
            with pytest.raises(SourceError):
                src.query()
        assert logins(sim) == 1  # REFUSED_PAUSE_S holds the next try back


def test_a_login_that_shows_nothing_more_is_not_repeated_every_sample(pwfile):
    with GoformSim("mf79-pocket", password=PASSWORD) as sim:
        sim.answer = {k: v for k, v in sim.answer.items() if k in sim.meta["public"]}  # no SIM: no signal
        sim.fields = lambda names, cookie, f=sim.fields: {**f(names, cookie), "loginfo": ""}  # no loginfo
        src = goform.GoformSource(sim.url, pwfile)
        for _ in range(5):
            assert src.query()["rat"] == "lte"
        assert logins(sim) == 1


def test_no_login_with_few_tries_left(pwfile):
    with GoformSim("mc888-nsa", password=PASSWORD, tries_left=2) as sim:
        src = goform.GoformSource(sim.url, pwfile)
        out = src.query()  # what the WebUI shows without a login
        assert out == {"backend": "goform", "rat": "nr5g-nsa"}
        assert logins(sim) == 0


def test_at_most_one_login_per_sample_and_a_busy_webui_pauses_them(pwfile):
    with GoformSim("mc801a-sa", password=PASSWORD, busy=True) as sim:
        src = goform.GoformSource(sim.url, pwfile)
        with pytest.raises(SourceError, match="another user is logged in"):
            src.query()
        with pytest.raises(SourceError, match="login paused"):
            src.query()
        assert logins(sim) == 1


def test_without_a_password_file_what_the_webui_shows_anonymously(pwfile):
    with GoformSim("mf79-pocket", password=PASSWORD) as sim:
        out = goform.GoformSource(sim.url, "").query()
        assert out == {"backend": "goform", "rat": "lte", "operator_name": "Telekom.de", "signal_bars": 3}
        assert logins(sim) == 0
    with GoformSim("mc801a-sa", password=PASSWORD) as sim, \
            pytest.raises(SourceError, match=r"asks for a login; set \[modem\] password_file"):
        goform.GoformSource(sim.url, "").query()


def test_password_file_readable_by_others_is_refused(tmp_path, pwfile):
    os.chmod(pwfile, 0o644)
    with GoformSim("mc801a-sa", password=PASSWORD) as sim:
        with pytest.raises(SourceError, match="accessible by group or others"):
            goform.GoformSource(sim.url, pwfile).query()
        assert logins(sim) == 0
    with pytest.raises(ConfigError, match=r"^modem.password_file: .* accessible by group or others"):
        config.from_dict({"broker": _broker(tmp_path), "modem": {"backend": "goform:http://192.168.0.1",
                                                                  "password_file": pwfile}})
    os.chmod(pwfile, 0o600)
    cfg = config.from_dict({"broker": _broker(tmp_path), "modem": {"password_file": pwfile}})
    assert cfg.modem.password_file == pwfile
    with pytest.raises(ConfigError, match="absolute path"):
        config.from_dict({"broker": _broker(tmp_path), "modem": {"password_file": "pw"}})


def _broker(tmp_path):
    for name in ("ca.pem", "c.pem", "c.key"):
        (tmp_path / name).write_text("x")
    return {"host": "h", "ca_file": f"{tmp_path}/ca.pem", "cert_file": f"{tmp_path}/c.pem",
            "key_file": f"{tmp_path}/c.key"}


HOSTILE_ERRORS = {
    "html": "answer is an HTML page",
    "truncated": "answer is not JSON",
    "huge": "answer larger than",
    "stall": "no answer within",
    "trickle": "no complete answer within",
    "deep": "answer is not JSON",
    "list": "JSON but not an object",
    "echo": "HTTP 400",
    "badstatus": "BadStatusLine",
}


@pytest.mark.parametrize("mode", sorted(HOSTILE_ERRORS))
def test_hostile_answer_costs_bounded_time_and_one_clear_error(mode, pwfile, caplog):
    caplog.set_level(logging.DEBUG)
    with GoformSim("mc888-nsa", password=PASSWORD, hostile=mode) as sim:
        src = goform.GoformSource(sim.url, pwfile)
        t0 = time.monotonic()
        with pytest.raises(SourceError, match=HOSTILE_ERRORS[mode]) as err:
            src.query()
        elapsed = time.monotonic() - t0
    assert elapsed < goform.QUERY_BUDGET_S + 0.5
    assert "\n" not in str(err.value) and len(str(err.value)) < 200
    for s in SECRETS:
        assert s not in str(err.value) and s not in caplog.text


def test_wrong_types_are_left_out_not_trusted(pwfile):
    with GoformSim("mc888-nsa", password=PASSWORD, hostile="types") as sim, \
            pytest.raises(SourceError, match="carries no cellular data"):
        goform.GoformSource(sim.url, pwfile).query()
    # numbers, lists, maps, null and booleans where strings belong are dropped one by one
    answer = {"network_type": 7, "lte_rsrp": -97, "rssi": [1], "cell_id": {"a": 1}, "rmcc": None,
              "signalbar": True, "lte_rsrq": "-11", "rmnc": "01"}
    assert gp.map_answer(answer) == {"backend": "goform", "rsrq_db": -11.0}


@pytest.mark.parametrize("mode", ["echo", "badstatus", "html"])
def test_a_server_echoing_the_login_never_shows_the_password(mode, pwfile, caplog):
    """The WebUI answers the LOGIN with a page that quotes the request (the encoded password)."""
    caplog.set_level(logging.DEBUG)
    for profile in ("mf283-lte", "mc888-nsa"):  # Base64 (reversible) and the salted hash
        with GoformSim(profile, password=PASSWORD, hostile_post=mode) as sim:
            try:
                seen = json.dumps(goform.GoformSource(sim.url, pwfile).query())  # what shows without login
            except SourceError as e:
                seen = str(e)
            posts = [body for m, _, _, body in sim.log if m == "POST"]
        assert len(posts) == 1 and any(s in posts[0] for s in SECRETS[1:]) == (profile == "mf283-lte")
        for s in SECRETS:
            assert s not in seen and s not in caplog.text


def test_collector_and_sampler_survive_every_hostile_mode(pwfile, caplog):
    caplog.set_level(logging.DEBUG)
    for mode in ("html", "truncated", "huge", "types", "deep", "stall"):
        with GoformSim("mf283-lte", password=PASSWORD, hostile=mode) as sim:
            ctx = Context(modem_spec=f"goform:{sim.url}")
            c = cell.CellularCollector(ctx)
            c._backend = cell._goform(sim.url, pwfile)
            sampler = Sampler([c], ctx)
            t0 = time.monotonic()
            snap = sampler.sample()
            assert time.monotonic() - t0 < goform.QUERY_BUDGET_S + 0.5
            assert "cellular" not in snap
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("profile", PROFILES)
def test_sample_cli_prints_the_normalised_fields_and_no_secret(profile, tmp_path, pwfile):
    cfg = tmp_path / "c.toml"
    b = _broker(tmp_path)
    cfg.write_text("[broker]\n" + "".join(f'{k} = "{v}"\n' for k, v in b.items())
                   + f'[privacy]\nsecret_file = "{tmp_path}/secret"\n[modem]\npassword_file = "{pwfile}"\n')
    with GoformSim(profile, password=PASSWORD) as sim:
        r = zte_uxip("sample", "--once", "--config", str(cfg), "--modem", f"goform:{sim.url}", timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    got = json.loads(r.stdout)["cellular"]
    want = expected(profile)
    ids = [v for k, v in want.items() if k in PSEUDONYMISED]
    assert {k: v for k, v in got.items() if k not in PSEUDONYMISED} == \
        {k: v for k, v in want.items() if k not in PSEUDONYMISED}
    for k in PSEUDONYMISED:
        assert (k in got) == (k in want)
    for s in (*SECRETS, *ids):
        assert s.encode() not in r.stdout + r.stderr


def test_sample_cli_without_config_on_a_login_firmware_is_one_line(tmp_path):
    with GoformSim("mc801a-sa", password=PASSWORD) as sim:
        r = zte_uxip("sample", "--once", "--modem", f"goform:{sim.url}", timeout=60)
    assert r.returncode == 0
    assert "cellular" not in json.loads(r.stdout)
    err = r.stderr.decode()
    assert "password_file" in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if "cellular" in ln]) == 1


def test_location_class_and_identifier_fields_of_the_nr_leg():
    nr = {f.name: f for f in schema.CELLULAR.child("nr").children}
    assert nr["cell_id"].privacy is schema.Privacy.LOCATION and nr["pci"].privacy is schema.Privacy.LOCATION
    from zte_uxip import privacy

    snap = {"cellular": {**expected("mc888-nsa"), "nr": {**expected("mc888-nsa")["nr"], "cell_id": 0x1234567}}}
    out = privacy.apply(snap, privacy.Policy(location=False, key=b"k" * 32))
    assert "cell_id" not in out["cellular"] and "pci" not in out["cellular"]
    assert not {"cell_id", "pci"} & set(out["cellular"]["nr"]) and out["cellular"]["nr"]["rsrp_dbm"] == -112
    assert out["cellular"]["imei"] != expected("mc888-nsa")["imei"]


@pytest.mark.parametrize(("mcc", "mnc", "plmn"), [("230", "3", "23003"), ("208", "01", "20801"),
                                                 ("310", "260", "310260"), ("310", "26", "310026"),
                                                 ("262", "1", "26201"), ("405", "840", "405840"),
                                                 ("208", "1234", None), ("20", "1", None), ("x", "1", None)])
def test_mnc_width_comes_from_the_country(mcc, mnc, plmn):
    assert gp.plmn_from(mcc, mnc).get("plmn") == plmn


def test_password_encodings_of_the_three_generations():
    # service.js: Base64.encode; SHA256(Base64) and SHA256(SHA256(pw)+LD), upper-case hex
    assert gp.encode_password("admin", "base64") == "YWRtaW4="
    assert gp.encode_password("admin", "sha256-base64") == hashlib.sha256(b"YWRtaW4=").hexdigest().upper()
    inner = hashlib.sha256(b"admin").hexdigest().upper()
    assert inner == "8C6976E5B5410415BDE908BD4DEE15DFB167A9C873FC4BB8A81F6F2AB448A918"
    assert gp.encode_password("admin", "ld-sha256", "ABCD") == \
        hashlib.sha256((inner + "ABCD").encode()).hexdigest().upper()
    assert gp.generation_from_config_js('x={WEB_ATTR_IF_SUPPORT_SHA256:"2"}') == "ld-sha256"
    assert gp.generation_from_config_js("WEB_ATTR_IF_SUPPORT_SHA256 = 1;") == "sha256-base64"
    assert gp.generation_from_config_js("<html>") == "base64"


_VALUES = st.one_of(st.text(max_size=12), st.integers(), st.none(), st.booleans(), st.floats(allow_nan=True),
                    st.lists(st.integers(), max_size=2), st.sampled_from(["-97", "-11.5", "3520d", "LTE", "ENDC",
                                                                          "SA", "n78", "Home", "Internal", "FFFFFFF"]))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(gp.QUERY_FIELDS), _VALUES, max_size=len(gp.QUERY_FIELDS)))
def test_any_answer_maps_to_schema_fields_or_nothing(answer):
    out = gp.map_answer(answer)
    names = {f.name for f in schema.CELLULAR.children}
    assert set(out) <= names
    for k, v in out.items():
        assert v is not None and not isinstance(v, list | dict) or k == "nr"
    assert out["backend"] == "goform"
