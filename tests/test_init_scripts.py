"""Init scripts: syntax, and the UCI -> TOML mapping the procd script performs, fed back
through the real config loader (so a UCI mistake surfaces as the agent's one-line error)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from zte_uxip import config
from zte_uxip.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIM = ROOT / "tests" / "fixtures" / "openwrt" / "functions.sh"
MAPPER = ROOT / "init.d" / "uci-to-toml.sh"
DEFAULTS = ROOT / "packaging" / "openwrt" / "zte-uxip" / "files" / "zte_uxip.config"


@pytest.mark.parametrize("script", ["init.d/zte-uxip", "init.d/zte-uxip.sysv", "init.d/uci-to-toml.sh"])
def test_shell_syntax(script):
    sh = shutil.which("dash") or shutil.which("sh")
    r = subprocess.run([sh, "-n", str(ROOT / script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _map(tmp_path: Path, uci: str) -> Path:
    (tmp_path / "zte_uxip").write_text(uci)
    sh = shutil.which("dash") or shutil.which("sh")
    r = subprocess.run([sh, "-c", f'. "{SHIM}"; . "{MAPPER}"; uxip_uci_to_toml'],
                       env={"UCI_CONFIG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, check=True)
    out = tmp_path / "out.toml"
    out.write_text(r.stdout)
    return out


def _tls(tmp_path: Path) -> Path:
    for n in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / n).write_text("x")
    return tmp_path


def test_openwrt_defaults_map_onto_a_valid_config(tmp_path):
    d = _tls(tmp_path)
    uci = DEFAULTS.read_text().replace("/etc/zte_uxip/ca.pem", f"{d}/ca.pem") \
        .replace("/etc/zte_uxip/client.pem", f"{d}/client.pem").replace("/etc/zte_uxip/client.key", f"{d}/client.key")
    cfg = config.load(_map(tmp_path, uci))
    assert cfg.broker.host == "mqtt.example.net" and cfg.broker.port == 8883
    assert cfg.intervals.sample_s == 10 and cfg.intervals.report_s == 60 and cfg.intervals.reports_per_batch == 5
    assert cfg.consent.toggle_file == "/etc/zte_uxip/enabled" and cfg.modem.backend == "auto"


def test_quotes_lists_and_device_id_survive(tmp_path):
    d = _tls(tmp_path)
    cfg = config.load(_map(tmp_path, f"""
config agent 'main'
\toption device_id 'zx-router-1'
config broker 'broker'
\toption host "mqtt.example.net"
\toption ca_file '{d}/ca.pem'
\toption cert_file '{d}/client.pem'
\toption key_file '{d}/client.key'
config links 'links'
\tlist exclude 'lo'
\tlist exclude 'br-guest'
config modem 'modem'
\toption backend 'at:/dev/ttyUSB2@115200'
config wifi 'wifi'
\toption short_range_dbm '-80'
config commands 'commands'
\toption verify_key_file '{d}/ca.pem'
"""))
    assert cfg.commands.verify_key_file == f"{d}/ca.pem"
    assert cfg.device_id == "zx-router-1" and cfg.links.exclude == ("lo", "br-guest")
    assert cfg.wifi.short_range_dbm == -80
    assert cfg.modem.backend == "at:/dev/ttyUSB2@115200"


def test_a_non_numeric_uci_value_is_refused_naming_the_key(tmp_path):
    d = _tls(tmp_path)
    toml = _map(tmp_path, f"""
config broker 'broker'
\toption host 'h" injected = 1'
\toption ca_file '{d}/ca.pem'
\toption cert_file '{d}/client.pem'
\toption key_file '{d}/client.key'
config intervals 'intervals'
\toption sample_s 'ten'
""")
    with pytest.raises(ConfigError, match=r"^intervals.sample_s: expected integer, got str$"):
        config.load(toml)
    assert 'host = "h\\" injected = 1"' in toml.read_text()
