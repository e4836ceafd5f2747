"""What the long-running agent imports: the real `zte-uxip run`, connected to a real TLS
mosquitto and publishing, traced by the interpreter itself (PYTHONPROFILEIMPORTTIME logs every
module as it is loaded, lazy imports included). Modules kept off the run path on purpose must
stay off it: each costs RSS on a 128 MB router for a feature the agent does not use."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from agentrig import AgentRig
from broker import Mosquitto, Subscriber, mosquitto_skip_reason

# module -> why it must not be loaded by `run`
KEPT_OUT = {
    "urllib.request": "paho's proxy support (zte_uxip/ondemand.py), ~1.5-3 MiB",
    "uuid": "paho: random client ids only (zte_uxip/ondemand.py)",
    "inspect": "via dataclasses or tenacity._utils (zte_uxip/ondemand.py), ~1 MiB",
    "dataclasses": "config and records are NamedTuples or plain classes",
    "email": "pulled in by urllib.request",
    "asyncio": "the full tenacity package (only tenacity.wait is loaded)",
    "argparse": "the plain run form is parsed without it",
}


def loaded_modules(log: str) -> set[str]:
    # self times go negative when two threads import at once (the TLS handshake runs beside priming)
    return set(re.findall(r"^import time:\s+-?\d+ \|\s+-?\d+ \|\s+([\w.]+)\s*$", log, re.M))


@pytest.mark.skipif(mosquitto_skip_reason() is not None, reason=mosquitto_skip_reason() or "")
@pytest.mark.parametrize("commands", [False, True], ids=["no-commands", "commands-configured"])
def test_run_keeps_unused_modules_out(tmp_path, commands):
    broker = Mosquitto(tmp_path / "broker").start()
    sub = Subscriber(broker)
    extra = ""
    if commands:  # a device that accepts remote commands but has not had one: PyNaCl stays out too
        from zte_uxip.server.signing import keygen

        _key, pub = keygen(str(tmp_path / "cmd"))
        extra = f'[commands]\nverify_key_file = "{pub}"\n'
    rig = AgentRig(tmp_path / "agent", broker, sample_s=1, report_s=2, extra=extra)
    try:
        rig.start(env={"PYTHONPROFILEIMPORTTIME": "1"})
        # Two batches acknowledged: config parsed, every collector sampled, a report encoded,
        # TLS + paho + the backoff loaded, a PUBACK handled.
        assert sub.wait(lambda: len(sub.telemetry()) >= 2, 40), rig.log_text()[-3000:]
    finally:
        rig.stop()
        sub.close()
        broker.stop()
    log = rig.log_text()
    loaded = loaded_modules(log)
    assert {"paho.mqtt.client", "tenacity.wait", "ssl", "cbor2", "zte_uxip.collectors.links"} <= loaded, \
        "the trace does not cover the run path"
    if commands:
        assert "zte_uxip.remote.service" in loaded and "nacl" not in loaded
    assert "connected to" in log
    leaked = {m: why for m, why in KEPT_OUT.items() if m in loaded}
    assert not leaked, f"`zte-uxip run` imported modules it should not: {leaked}"


def test_deferred_module_still_works_when_used():
    """A stand-in becomes the real module on first use: paho's proxy lookup would still work."""
    code = """
import sys
from zte_uxip import ondemand
ondemand.defer("urllib.request", "inspect")
import paho.mqtt.client as mqtt
assert type(sys.modules["urllib.request"]).__name__ == "_OnDemand", "loaded at import"
import urllib.request
proxies = urllib.request.getproxies()          # first use: the real module
assert isinstance(proxies, dict)
assert type(sys.modules["urllib.request"]).__name__ == "module"
assert sys.modules["urllib"].request is sys.modules["urllib.request"]
import inspect
assert inspect.isclass(int)
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
