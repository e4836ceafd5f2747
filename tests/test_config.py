"""Config: refused at start with one line naming the key."""

from __future__ import annotations

import pytest

from zte_uxip import config
from zte_uxip.errors import ConfigError


@pytest.fixture
def tls_files(tmp_path):
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("x")
    return tmp_path


def _write(tmp_path, text):
    p = tmp_path / "uxip.toml"
    p.write_text(text)
    return p


def _base(d):
    return f'''
[broker]
host = "mqtt.example.net"
port = 8883
ca_file = "{d}/ca.pem"
cert_file = "{d}/client.pem"
key_file = "{d}/client.key"
'''


def test_full_design_example_loads(tls_files):
    cfg = config.load(_write(tls_files, 'device_id = "zx-test1"\n' + _base(tls_files) + '''
[consent]
toggle_file = "/etc/zte_uxip/enabled"
[intervals]
sample_s = 10
report_s = 60
[spool]
dir = "/etc/zte_uxip/spool"
[state]
dir = "/tmp/zte_uxip"
[modem]
backend = "at:/dev/ttyUSB2@115200"
'''))
    assert cfg.broker.port == 8883 and cfg.intervals.sample_s == 10
    assert cfg.modem.backend == "at:/dev/ttyUSB2@115200" and cfg.device_id == "zx-test1"
    with pytest.raises(AttributeError):
        cfg.broker.port = 1  # frozen


@pytest.mark.parametrize("extra, key", [
    ("[broker2]\nx = 1\n", "broker2"),
    ("[intervals]\nsample_secs = 5\n", "intervals.sample_secs"),
    ("[intervals]\nsample_s = \"10\"\n", "intervals.sample_s"),
    ("[intervals]\nsample_s = true\n", "intervals.sample_s"),
    ("[intervals]\nsample_s = 0\n", "intervals.sample_s"),
    ("[intervals]\nsample_s = 60\nreport_s = 10\n", "intervals.report_s"),
    ("[modem]\nbackend = \"at:ttyUSB2\"\n", "modem.backend"),
    ("[modem]\nbackend = \"qmi:/dev/cdc-wdm0@9600\"\n", "modem.backend"),
    ("[links]\nexclude = \"lo\"\n", "links.exclude"),
    ("device_id = \"a/b#\"\n", "device_id"),
    ("insecure = true\n", "insecure"),
    ("[broker.tls]\ninsecure = true\n", "broker.tls"),
])
def test_bad_keys_are_named(tls_files, extra, key):
    text = _base(tls_files)
    if extra.startswith("device_id") or extra.startswith("insecure"):
        text = extra + text
    elif extra.startswith("[broker."):
        text = text + extra
    else:
        text = text + extra
    with pytest.raises(ConfigError) as exc:
        config.load(_write(tls_files, text))
    msg = str(exc.value)
    assert msg.startswith(key + ":") or f"{key}:" in msg, msg
    assert "\n" not in msg


def test_plaintext_port_refused(tls_files):
    with pytest.raises(ConfigError, match=r"broker.port: 1883 is not a TLS port"):
        config.load(_write(tls_files, _base(tls_files).replace("8883", "1883")))


@pytest.mark.parametrize("name", ["ca_file", "cert_file", "key_file"])
def test_missing_tls_file_refused(tls_files, name):
    target = {"ca_file": "ca.pem", "cert_file": "client.pem", "key_file": "client.key"}[name]
    (tls_files / target).unlink()
    with pytest.raises(ConfigError, match=rf"broker.{name}: .* is missing or unreadable"):
        config.load(_write(tls_files, _base(tls_files)))


def test_broker_section_required(tmp_path):
    with pytest.raises(ConfigError, match="^broker: required"):
        config.load(_write(tmp_path, "[intervals]\nsample_s = 5\n"))


@pytest.mark.parametrize("text, msg", [("[broker\n", "not valid TOML"), ("\xff", "not valid")])
def test_unparseable_file(tmp_path, text, msg):
    p = tmp_path / "c.toml"
    p.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match=msg):
        config.load(p)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")


@pytest.mark.parametrize("spec, parsed", [
    ("auto", ("auto", None, None)), ("none", ("none", None, None)), ("mm", ("mm", None, None)),
    ("mm:2", ("mm", "2", None)), ("at:/dev/ttyUSB2", ("at", "/dev/ttyUSB2", None)),
    ("at:/dev/ttyUSB2@115200", ("at", "/dev/ttyUSB2", 115200)), ("qmi:/dev/cdc-wdm0", ("qmi", "/dev/cdc-wdm0", None)),
    ("goform:http://192.168.0.1", ("goform", "http://192.168.0.1", None)),
    ("goform:http://192.168.0.1/", ("goform", "http://192.168.0.1", None)),
    ("goform:http://Router.LAN:8080", ("goform", "http://router.lan:8080", None)),
    ("goform:http://[fe80::1]", ("goform", "http://[fe80::1]", None)),
])
def test_modem_specs(spec, parsed):
    assert config.parse_modem_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["", "at:", "at:/dev/x@fast", "mm:x", "qmi:", "serial:/dev/ttyUSB0", "at:/etc/passwd",
                                  "goform:", "goform:192.168.0.1", "goform:https://192.168.0.1",
                                  "goform:http://admin:pw@192.168.0.1", "goform:http://h/goform/x",
                                  "goform:http://h?cmd=x", "goform:http://h:0", "goform:http://h:70000",
                                  "goform:http://-h", "goform:http://h;rm", "goform:http://h\nX: y"])
def test_bad_modem_specs(spec):
    with pytest.raises(ValueError, match="not a modem SPEC"):
        config.parse_modem_spec(spec)
