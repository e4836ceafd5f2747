"""Fetch and unpack Debian's kernel for the Wi-Fi VM tier, cached under .cache/wifi-vm/.

`apt-get download` the image package that linux-image-amd64 depends on, `dpkg-deb -x` it,
`depmod -b` (the unpacked package has no modules.dep), and extract the ELF vmlinux from the
bzImage's xz payload (booting it directly saves the in-guest decompression under TCG).
Run as a script to prepare the cache: `python3 tests/vm/kernel.py`.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "wifi-vm"
XZ_MAGIC = b"\xfd7zXZ\x00"
ELF_MAGIC = b"\x7fELF"


class KernelUnavailable(Exception):
    """The kernel cannot be prepared here (no apt, no network): the VM tier skips with this reason."""


@dataclass(frozen=True)
class Kernel:
    abi: str  # e.g. 6.1.0-56-amd64
    root: Path  # the unpacked package: boot/, lib/modules/<abi>/
    vmlinux: Path  # what QEMU boots


def _run(*cmd: str, cwd: Path | None = None) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise KernelUnavailable(f"{' '.join(cmd)}: {(r.stderr or r.stdout).strip()[-300:]}")
    return r.stdout


def image_package() -> str:
    """The versioned image package the metapackage points at (linux-image-6.1.0-56-amd64)."""
    if shutil.which("apt-cache") is None:
        raise KernelUnavailable("no apt-cache: not a Debian machine")
    out = _run("apt-cache", "depends", "linux-image-amd64")
    m = re.search(r"Depends:\s*(linux-image-[0-9][\w.+-]*-amd64)\b", out)
    if not m:
        raise KernelUnavailable("apt-cache depends linux-image-amd64 names no image package")
    return m.group(1)


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The ELF vmlinux inside a bzImage (Debian compresses it with xz)."""
    start = bzimage.find(XZ_MAGIC)
    while start >= 0:
        try:
            elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(bzimage[start:])
        except lzma.LZMAError:
            elf = b""
        if elf.startswith(ELF_MAGIC):
            return elf
        start = bzimage.find(XZ_MAGIC, start + 1)
    raise KernelUnavailable("no xz-compressed ELF payload in the bzImage")


def prepare(cache: Path = CACHE) -> Kernel:
    pkg = image_package()
    abi = pkg.removeprefix("linux-image-")
    root = cache / abi / "root"
    vmlinux = cache / abi / "vmlinux"
    if vmlinux.is_file() and (root / "lib/modules" / abi / "modules.dep").is_file():
        return Kernel(abi, root, vmlinux)
    dl = cache / abi / "deb"
    dl.mkdir(parents=True, exist_ok=True)
    debs = sorted(dl.glob(f"{pkg}_*.deb"))
    if not debs:
        try:
            _run("apt-get", "download", "-q", pkg, cwd=dl)
        except KernelUnavailable:
            if os.geteuid() != 0:
                raise
            _run("apt-get", "update", "-qq")  # a fresh machine may have no package lists yet
            _run("apt-get", "download", "-q", pkg, cwd=dl)
        debs = sorted(dl.glob(f"{pkg}_*.deb"))
    if not debs:
        raise KernelUnavailable(f"apt-get download {pkg} produced no .deb")
    if root.exists():
        shutil.rmtree(root)
    _run("dpkg-deb", "-x", str(debs[-1]), str(root))
    _run("depmod", "-b", str(root), abi)
    tmp = vmlinux.with_suffix(".tmp")
    tmp.write_bytes(extract_vmlinux((root / "boot" / f"vmlinuz-{abi}").read_bytes()))
    tmp.replace(vmlinux)
    return Kernel(abi, root, vmlinux)


if __name__ == "__main__":
    try:
        k = prepare()
    except KernelUnavailable as e:
        print(f"kernel: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"{k.abi} {k.vmlinux}")
