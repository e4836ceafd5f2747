"""system.* on a recorded /proc tree, and on this machine."""

from pathlib import Path

import pytest

from zte_uxip.collectors.base import Context
from zte_uxip.collectors.system import SystemCollector
from zte_uxip.errors import SourceError

FIXTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "proc-openwrt")


def test_recorded_tree():
    c = SystemCollector(Context(root=FIXTURE))
    out = c.collect()
    assert out == {"mem_total_kib": 124528, "mem_used_pct": 50.7, "load1": 0.42, "procs": 61}  # no CPU on first read


def test_cpu_pct_from_deltas(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text("MemTotal: 100 kB\nMemAvailable: 25 kB\n")
    (proc / "loadavg").write_text("1.00 0.5 0.2 1/10 99\n")
    (proc / "stat").write_text("cpu  100 0 100 800 0 0 0 0 0 0\n")
    c = SystemCollector(Context(root=str(tmp_path)))
    c.prime()
    (proc / "stat").write_text("cpu  130 0 120 850 0 0 0 0 0 0\n")  # 50 busy of 100
    assert c.collect()["cpu_pct"] == 50.0


@pytest.mark.parametrize("stat", ["", "intr 5\n", "cpu  a b c d\n"])
def test_malformed_proc_stat(tmp_path, stat):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "stat").write_text(stat)
    with pytest.raises(SourceError, match="/proc/stat"):
        SystemCollector(Context(root=str(tmp_path))).collect()


def test_this_machine():
    c = SystemCollector(Context())
    c.prime()
    out = c.collect()
    assert 0 <= out["mem_used_pct"] <= 100 and out["procs"] > 0
