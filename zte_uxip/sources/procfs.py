"""/proc readers for CPU, memory and load. Reading /proc directly costs nothing at import;
psutil would add ~4 MB RSS to an agent whose budget is 24 MB. ``root`` lets tests use a
recorded tree."""

from __future__ import annotations

from typing import NamedTuple

from ..errors import SourceError


class CpuTimes(NamedTuple):
    busy_ticks: int
    total_ticks: int


def _read(root: str, rel: str) -> str:
    try:
        with open(f"{root}/proc/{rel}", encoding="ascii", errors="replace") as fh:
            return fh.read(65536)
    except OSError as e:
        raise SourceError(f"procfs: cannot read /proc/{rel}: {e.strerror}") from None


def cpu_times(root: str = "") -> CpuTimes:
    """Aggregate CPU ticks from the first line of /proc/stat (iowait counts as idle)."""
    line = _read(root, "stat").split("\n", 1)[0].split()
    if len(line) < 5 or line[0] != "cpu" or not all(x.isdigit() for x in line[1:]):
        raise SourceError("procfs: /proc/stat has no aggregate cpu line")
    ticks = [int(x) for x in line[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guests are inside user.
    total = sum(ticks[:8])
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return CpuTimes(busy_ticks=total - idle, total_ticks=total)


def meminfo_kib(root: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _read(root, "meminfo").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0])
    return out


def loadavg(root: str = "") -> tuple[float, int]:
    """(load1, number of processes) from /proc/loadavg."""
    parts = _read(root, "loadavg").split()
    try:
        load1 = float(parts[0])
        procs = int(parts[3].split("/")[1])
    except (IndexError, ValueError):
        raise SourceError("procfs: /proc/loadavg is malformed") from None
    return load1, procs


def boot_id(root: str = "") -> str:
    """The kernel's random id of this boot: a change means the device restarted."""
    value = _read(root, "sys/kernel/random/boot_id").strip()
    if len(value) != 36 or value.count("-") != 4 or not all(c in "0123456789abcdef-" for c in value):
        raise SourceError("procfs: /proc/sys/kernel/random/boot_id is not a UUID")
    return value
