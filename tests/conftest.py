"""Shared test helpers: real network namespaces and the installed console scripts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def zte_uxip(*args: str, input: bytes | None = None, timeout: float = 60, ns: str | None = None,
             check: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run the installed `zte-uxip` console script, optionally inside a network namespace."""
    cmd = [str(BIN / "zte-uxip"), *args]
    if ns:
        cmd = ["ip", "netns", "exec", ns, *cmd]
    return subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, check=check)


def netns_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2 (`ip`)"
    probe = f"uxprobe{uuid.uuid4().hex[:6]}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


_NETNS_SKIP = netns_skip_reason()


class Netns:
    """A network namespace owned by one test; `sh` runs commands inside it."""

    def __init__(self) -> None:
        self.name = f"uxt{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.sh("ip", "link", "set", "lo", "up")

    def sh(self, *cmd: str, check: bool = True) -> str:
        r = subprocess.run(["ip", "netns", "exec", self.name, *cmd], capture_output=True, text=True, check=False)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
        return r.stdout

    def python(self, code: str, timeout: float = 30) -> str:
        r = subprocess.run(["ip", "netns", "exec", self.name, sys.executable, "-c", code],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"python in {self.name} failed: {r.stderr.strip()}")
        return r.stdout

    def sysfs(self, iface: str, attr: str) -> int:
        return int(self.sh("cat", f"/sys/class/net/{iface}/{attr}").strip())

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


@pytest.fixture
def netns() -> Iterator[Netns]:
    if _NETNS_SKIP:
        pytest.skip(_NETNS_SKIP)
    ns = Netns()
    try:
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def netns_pair() -> Iterator[tuple[Netns, Netns]]:
    """Two namespaces joined by a veth pair: a0 (10.99.0.1) in the first, b0 (10.99.0.2) in the second."""
    if _NETNS_SKIP:
        pytest.skip(_NETNS_SKIP)
    a, b = Netns(), Netns()
    try:
        a.sh("ip", "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", b.name)
        a.sh("ip", "addr", "add", "10.99.0.1/24", "dev", "a0")
        b.sh("ip", "addr", "add", "10.99.0.2/24", "dev", "b0")
        a.sh("ip", "link", "set", "a0", "up")
        b.sh("ip", "link", "set", "b0", "up")
        yield a, b
    finally:
        a.delete()
        b.delete()
