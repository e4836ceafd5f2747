"""`zte-uxip-server keygen` and `diag` without a broker: key files, and bad input as one line."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "zte-uxip-server"), *args], capture_output=True, text=True, timeout=30)


def test_keygen_writes_a_0600_seed_and_its_public_key_and_never_overwrites(tmp_path):
    from nacl.signing import SigningKey

    r = server("keygen", "--out", str(tmp_path / "cmd"))
    assert r.returncode == 0, r.stderr
    key, pub = tmp_path / "cmd.key", tmp_path / "cmd.pub"
    assert key.stat().st_mode & 0o777 == 0o600
    seed = base64.b64decode(key.read_text().strip())
    assert bytes(SigningKey(seed).verify_key) == base64.b64decode(pub.read_text().strip())
    again = server("keygen", "--out", str(tmp_path / "cmd"))
    assert again.returncode == 2 and "exists" in again.stderr
    assert key.read_text().strip() == base64.b64encode(seed).decode()


def _config(tmp_path: Path, key: Path) -> Path:
    p = tmp_path / "server.toml"
    p.write_text(f'[broker]\nhost = "127.0.0.1"\nport = 8883\nca_file = "/nonexistent"\ncert_file = "x"\n'
                 f'key_file = "y"\n[commands]\nsigning_key_file = "{key}"\n')
    return p


def test_diag_bad_input_is_one_line_exit_2(tmp_path):
    assert server("keygen", "--out", str(tmp_path / "k")).returncode == 0
    cfg = _config(tmp_path, tmp_path / "k.key")
    cases = [
        (["dev-1", "ping", "host"], "NAME=VALUE"),
        (["dev/+", "snapshot"], "device_id"),
        (["dev-1", "snapshot", "--timeout", "0"], "--timeout"),
    ]
    for args, needle in cases:
        r = server("diag", *args, "--config", str(cfg))
        assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr
    (tmp_path / "k.key").chmod(0o644)
    r = server("diag", "dev-1", "snapshot", "--config", str(cfg))
    assert r.returncode == 2 and "readable by others" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[broker]\nhost = "h"\nport = 1883\nca_file = "a"\ncert_file = "b"\nkey_file = "c"\n')
    r = server("diag", "dev-1", "snapshot", "--config", str(bad))
    assert r.returncode == 2 and "broker.port" in r.stderr
    bad.write_text('[broker]\nhost = "h"\nca_file = "a"\ncert_file = "b"\nkey_file = "c"\n')
    r = server("diag", "dev-1", "snapshot", "--config", str(bad))
    # no [commands]: the default key path, which this machine does not have
    assert r.returncode == 2 and "/etc/zte_uxip/command.key" in r.stderr, r.stderr


def test_diag_imports_only_wire_from_the_agent_side():
    code = ("import sys; import zte_uxip.server.diag, zte_uxip.server.cli; "
            "bad = [m for m in sys.modules if m.startswith('zte_uxip.') and not m.startswith(('zte_uxip.server', "
            "'zte_uxip.wire'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30).stdout.strip()
    assert out == "[]"
