"""How long a full modem query takes, per backend and AT dialect, and what `sample --once`
costs with and without a modem (wall time, peak RSS).

The simulators run in their own processes (tests/modemsim.py, tests/qmisim.py), so the
measured process does only its own work. A pty has no line delay: the AT figures are the
agent's own cost per query; a real modem adds its answer latency per command (the count of
commands is printed so it can be multiplied out).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
sys.path.insert(0, str(TESTS))
BIN = Path(sys.executable).parent
RUNS = 15


def spawn(script: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    p = subprocess.Popen([sys.executable, str(TESTS / script), *args], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    return p, p.stdout.readline().strip()


def stop(p: subprocess.Popen[str]) -> None:
    p.terminate()
    p.wait(timeout=5)


def timed(fn, runs: int = RUNS) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, max(times) * 1000


def sample_cost(spec: str, *extra: str) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one `sample --once` process (its own rusage)."""
    # A child forked from this (large) process starts with this process's RSS as its peak, so
    # a minimal launcher (python -I -S, ~6 MiB) forks and execs it and reports its rusage.
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, str(BIN / "zte-uxip"), "sample", "--once",
                        "--modem", spec, *extra], capture_output=True, text=True, timeout=60, check=True)
    wall = time.perf_counter() - t0
    rc, maxrss = r.stdout.split()
    assert rc == "0", r.stderr
    return wall, int(maxrss)


LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def main() -> int:
    from modemsim import DIALECTS

    from zte_uxip.sources import at, qmi

    print(f"{'backend':<22}{'median ms':>10}{'max ms':>9}  notes")
    at_ms: dict[str, float] = {}
    for dialect in sorted(DIALECTS):
        p, path = spawn("modemsim.py", "--dialect", dialect)
        try:
            fields: list[int] = []

            def run(path: str = path, fields: list[int] = fields) -> None:
                fields.append(len(at.query_at(path)))

            med, mx = timed(run)
            at_ms[dialect] = med
            sent = _count_commands(lambda path=path: at.query_at(path))
            print(f"{'at:' + dialect:<22}{med:>10.1f}{mx:>9.1f}  {sent} AT commands, {fields[-1]} fields")
        finally:
            stop(p)
    p, path = spawn("modemsim.py", "--dialect", "standard", "--hostile", "silent")
    try:
        med, mx = timed(lambda: _expect_error(at.query_at, path), runs=2)
        print(f"{'at: silent modem':<22}{med:>10.1f}{mx:>9.1f}  bounded by {at.MAX_SILENT_COMMANDS} x "
              f"{at.CMD_TIMEOUT_S:g} s")
    finally:
        stop(p)
    if qmi.available():
        p, path = spawn("qmisim.py")
        try:
            med, mx = timed(lambda: qmi.query_qmi(path), runs=5)
            print(f"{'qmi (qmicli x12)':<22}{med:>10.1f}{mx:>9.1f}  one qmicli process per request")
        finally:
            stop(p)
    else:
        print("qmi: skipped (no qmicli)")
    _bench_mm()
    _bench_goform(at_ms["zte-lte"])
    p, path = spawn("modemsim.py", "--dialect", "quectel")
    try:
        wall_none, rss_none = sample_cost("none")
        wall_at, rss_at = sample_cost(f"at:{path}")
        print(f"sample --once --modem none : {wall_none * 1000:.0f} ms wall, peak RSS {rss_none / 1024:.1f} MiB")
        print(f"sample --once --modem at:  : {wall_at * 1000:.0f} ms wall, peak RSS {rss_at / 1024:.1f} MiB "
              "(includes the fixed 250 ms settle of sample --once)")
    finally:
        stop(p)
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    return 0


def _bench_goform(at_zte_ms: float) -> None:
    """The WebUI data service (tests/goformsim.py in its own process, loopback HTTP), against
    one AT query of the ZTE LTE dialect measured in the same run."""
    import tempfile

    from goformsim import PROFILES

    from zte_uxip.sources.goform import GoformSource

    with tempfile.TemporaryDirectory() as tmp:
        pw = Path(tmp) / "pw"
        pw.write_text("bench-password\n")
        pw.chmod(0o600)
        for profile in PROFILES:
            p, url = spawn("goformsim.py", profile, "--password", "bench-password")
            try:
                src = GoformSource(url, str(pw))
                src.query()
                med, mx = timed(src.query)  # logged in: one GET per sample
                lmed, lmx = timed(lambda url=url: GoformSource(url, str(pw)).query(), runs=5)
                print(f"{'goform:' + profile:<22}{med:>10.1f}{mx:>9.1f}  {src.last_requests} request, "
                      f"{med / at_zte_ms:.2f}x one at:zte-lte query; with login {lmed:.1f} ms "
                      f"({src.generation})")
            finally:
                stop(p)
        p, url = spawn("goformsim.py", "mc888-nsa", "--password", "bench-password")
        try:
            for name in ("ca.pem", "c.pem", "c.key"):
                (Path(tmp) / name).write_text("x")
            cfg = Path(tmp) / "c.toml"
            cfg.write_text(f'[broker]\nhost = "h"\nca_file = "{tmp}/ca.pem"\ncert_file = "{tmp}/c.pem"\n'
                           f'key_file = "{tmp}/c.key"\n[privacy]\nsecret_file = "{tmp}/secret"\n'
                           f'[modem]\npassword_file = "{pw}"\n')
            wall, rss = sample_cost(f"goform:{url}", "--config", str(cfg))
            print(f"sample --once --modem goform: : {wall * 1000:.0f} ms wall, peak RSS {rss / 1024:.1f} MiB "
                  "(login included)")
        finally:
            stop(p)


def _bench_mm() -> None:
    """ModemManager in test mode on a private bus, as in tests/sources/test_modemmanager.py."""
    import importlib.util
    import tempfile

    spec = importlib.util.spec_from_file_location("test_mm", TESTS / "sources" / "test_modemmanager.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    reason = mod._live_skip_reason()
    if reason:
        print(f"mm: skipped ({reason})")
        return
    from zte_uxip.sources import modemmanager

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        live = mod.LiveMM(Path(tmp), "standard")
        up = time.perf_counter() - t0
        old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = live.env["DBUS_SYSTEM_BUS_ADDRESS"]
        try:
            med, mx = timed(lambda: modemmanager.query_mm("0"), runs=5)
            print(f"{'mm (mmcli x4)':<22}{med:>10.1f}{mx:>9.1f}  ModemManager up and registered in {up:.1f} s")
        finally:
            if old is None:
                del os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
            else:
                os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = old
            live.stop()


def _count_commands(fn) -> int:
    from zte_uxip.sources import at

    real = at.AtChannel.command
    count = 0

    def counting(self, cmd, timeout_s=at.CMD_TIMEOUT_S):
        nonlocal count
        count += 1
        return real(self, cmd, timeout_s)

    at.AtChannel.command = counting
    try:
        fn()
    finally:
        at.AtChannel.command = real
    return count


def _expect_error(fn, *args) -> None:
    from zte_uxip.errors import SourceError

    try:
        fn(*args)
    except SourceError:
        return
    raise AssertionError("expected SourceError")


if __name__ == "__main__":
    sys.exit(main())
