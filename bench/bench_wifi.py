"""Cost of the Wi-Fi path: import time and RSS of the nl80211 code path against a bare python3
measured in the same run (and pyroute2's IW as the road not taken), CPU per sample of the wifi
collector on replayed real-kernel replies, and — when QEMU is available — on the real kernel in
the hwsim VM next to the links collector as an in-VM reference.

    .venv/bin/python bench/bench_wifi.py [--no-vm]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

PROBE = """
import time, json, sys
t0 = time.perf_counter()
{code}
t = time.perf_counter() - t0
st = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(json.dumps({{"import_s": t, "rss_kib": int(st["VmRSS"].split()[0]), "hwm_kib": int(st["VmHWM"].split()[0]),
                  "modules": len(sys.modules)}}))
"""

WIFI_SAMPLE = """
from pathlib import Path
import zte_uxip.collectors.wifi as w
from zte_uxip.collectors.base import Context
from zte_uxip.sources.nl80211 import Nl80211Source
sys.path.insert(0, {tests!r})
from vm.transcript import replayer
col = w.WifiCollector(Context(), Nl80211Source(replayer(Path({fix!r}))))
col.prime()
for _ in range(10):
    col.collect()
"""

SCENARIOS = {
    "bare python3": "pass",
    "zte_uxip.sources.netlink (core, pulls errors -> wire -> cbor2)": "import zte_uxip.sources.netlink",
    "zte_uxip.collectors.wifi (the nl80211 code path)": "import zte_uxip.collectors.wifi",
    "agent without Wi-Fi: sampler + links collector": "import zte_uxip.sampler, zte_uxip.collectors.links",
    "agent with Wi-Fi: the same + collectors.wifi": "import zte_uxip.sampler, zte_uxip.collectors.links, "
                                                   "zte_uxip.collectors.wifi",
    "wifi collector, 10 samples on replayed replies": None,
    "reference: from pyroute2 import IW": "from pyroute2 import IW",
}


def probe(code: str, runs: int = 5) -> dict:
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE.format(code=code)], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout
        rows.append(json.loads(out))
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def cpu_per_sample_replay(n: int = 2000) -> float:
    from vm.transcript import replayer

    from zte_uxip.collectors.base import Context
    from zte_uxip.collectors.wifi import WifiCollector
    from zte_uxip.sources.nl80211 import Nl80211Source

    col = WifiCollector(Context(), Nl80211Source(replayer(ROOT / "tests/fixtures/nl80211-hwsim")))
    col.prime()
    col.collect()
    t0 = time.process_time()
    for _ in range(n):
        col.collect()
    return (time.process_time() - t0) / n


def cpu_per_sample_links(n: int = 2000) -> float:
    """The links collector on this host's real rtnetlink: a reference measured in the same run."""
    from zte_uxip.collectors.base import Context
    from zte_uxip.collectors.links import LinksCollector

    col = LinksCollector(Context())
    col.collect()
    t0 = time.process_time()
    for _ in range(n):
        col.collect()
    col.close()
    return (time.process_time() - t0) / n


def main() -> int:
    fix = str(ROOT / "tests/fixtures/nl80211-hwsim")
    print("import/RSS (median of 5 fresh processes):")
    base = None
    for name, code in SCENARIOS.items():
        if code is None:
            code = WIFI_SAMPLE.format(tests=str(ROOT / "tests"), fix=fix)
        try:
            r = probe(code)
        except subprocess.CalledProcessError as e:
            print(f"  {name}: failed: {e.stderr.strip().splitlines()[-1]}")
            continue
        base = base or r
        print(f"  {name:64s} RSS {r['rss_kib'] / 1024:5.1f} MiB (+{(r['rss_kib'] - base['rss_kib']) / 1024:4.1f})"
              f"  import {r['import_s'] * 1000:6.1f} ms  modules {r['modules']:.0f}")
    print(f"wifi collector CPU per sample, replayed hwsim replies (parse + aggregate, no syscalls): "
          f"{cpu_per_sample_replay() * 1e6:.0f} us; reference, links collector on this host's rtnetlink: "
          f"{cpu_per_sample_links() * 1e6:.0f} us")
    if "--no-vm" in sys.argv:
        return 0
    from vm import wifi_vm

    reason = wifi_vm.skip_reason()
    if reason:
        print(f"real-kernel CPU per sample: skipped ({reason})")
        return 0
    with tempfile.TemporaryDirectory(prefix="uxip-bench-vm-") as tmp:
        try:
            res = wifi_vm.run(Path(tmp))
        except wifi_vm.VmUnavailable as e:
            print(f"real-kernel CPU per sample: skipped ({e})")
            return 0
        steady = json.loads((res.out / "collector.json").read_text())["steady"]
    print(f"real kernel (Debian 6.1 under QEMU TCG, hwsim, 2 radios, 1 client), {steady['samples']} samples: "
          f"wifi {steady['wifi_cpu_s_per_sample'] * 1000:.1f} ms/sample vs links collector "
          f"{steady['links_cpu_s_per_sample'] * 1000:.1f} ms/sample in the same process "
          f"(TCG emulation inflates both); guest maxrss {steady['maxrss_kib'] / 1024:.1f} MiB; "
          f"VM wall {res.wall_s:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
