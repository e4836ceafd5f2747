"""Boot Debian's kernel under QEMU (TCG) with the host root over 9p and run tests/vm/guest.sh.

The guest loads mac80211_hwsim (2 radios), starts a WPA2 AP on wlan0 (hostapd, channel 6) and a
station on wlan1 (wpa_supplicant), then runs tests/vm/guest_collect.py (our collector and the
recorder) next to `iw`. Results come back through a second, writable 9p share, never by parsing
the serial console. Used by tests/collectors/test_wifi_vm.py and tests/vm/record_fixtures.py.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel import CACHE, ROOT, Kernel, KernelUnavailable, prepare  # noqa: E402

# Needed before the host root can be mounted (TESTBED.md); their dependencies come along.
EARLY_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay")
BUSYBOX = "/bin/busybox"

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod "$m" || echo "vm-init: insmod $m failed"; done
mkdir -p /host /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /host || echo "vm-init: 9p failed"
mount -t tmpfs -o size=256m tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot
mkdir -p /newroot/mnt/vmout
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmout /newroot/mnt/vmout
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/run
# /tmp stays the overlay's (writable, in /rw): a tmpfs there would hide a checkout under /tmp,
# which is where CI's clean clone may live.
echo /sbin/modprobe-chroot > /proc/sys/kernel/modprobe
chroot /newroot /bin/sh @GUEST@ /mnt/vmout @KROOT@ > /newroot/mnt/vmout/guest.log 2>&1
echo "rc=$?" > /newroot/mnt/vmout/guest.rc
sync
umount /newroot/mnt/vmout
poweroff -f
"""

MODPROBE = """#!/bin/busybox sh
exec /bin/busybox chroot /newroot /usr/sbin/modprobe -d @KROOT@ "$@"
"""


class VmUnavailable(Exception):
    """Why the VM tier cannot run on this machine (the test skips with this text)."""


@dataclass(frozen=True)
class VmResult:
    out: Path
    wall_s: float
    console: str


def skip_reason() -> str | None:
    for tool in ("qemu-system-x86_64", "cpio", "hostapd", "wpa_supplicant", "iw", "modprobe", "depmod"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"needs {tool} (scripts/system-deps.sh installs it as root on Debian)"
    if not Path(BUSYBOX).is_file() or b"ld-linux" in Path(BUSYBOX).read_bytes()[:65536]:
        return "needs a static busybox at /bin/busybox (apt busybox-static)"
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        return "needs apt-get and dpkg-deb to fetch Debian's kernel"
    return None


def _show_depends(k: Kernel) -> list[Path]:
    r = subprocess.run(["modprobe", "-d", str(k.root), "-S", k.abi, "--show-depends", "-a", *EARLY_MODULES],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise VmUnavailable(f"modprobe --show-depends: {r.stderr.strip()}")
    mods: list[Path] = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "insmod" and Path(parts[1]) not in mods:
            mods.append(Path(parts[1]))
    return mods


def build_initramfs(k: Kernel, guest: Path) -> Path:
    """A busybox initramfs with the 9p/overlay modules; rebuilt only when its inputs change."""
    mods = _show_depends(k)
    init = INIT.replace("@GUEST@", str(guest)).replace("@KROOT@", str(k.root))
    modprobe = MODPROBE.replace("@KROOT@", str(k.root))
    key = "\n".join([init, modprobe, *map(str, mods)])
    out = CACHE / k.abi / "initramfs.cpio.gz"
    stamp = out.with_suffix(".key")
    if out.is_file() and stamp.is_file() and stamp.read_text() == key:
        return out
    stage = CACHE / k.abi / "initramfs"
    if stage.exists():
        shutil.rmtree(stage)
    for d in ("bin", "sbin", "proc", "sys", "dev", "lib/modules"):
        (stage / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, stage / "bin/busybox")
    names = []
    for m in mods:
        # Debian 12 ships modules compressed? No: .ko files; copy as is (insmod needs plain .ko).
        dst = stage / "lib/modules" / m.name
        shutil.copy2(m, dst)
        names.append(f"/lib/modules/{m.name}")
    (stage / "modules.list").write_text("\n".join(names) + "\n")
    (stage / "init").write_text(init)
    (stage / "sbin/modprobe-chroot").write_text(modprobe)
    os.chmod(stage / "init", 0o755)
    os.chmod(stage / "sbin/modprobe-chroot", 0o755)
    files = sorted(str(p.relative_to(stage)) for p in stage.rglob("*"))
    r = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=stage, input="\n".join(files).encode(),
                       capture_output=True, timeout=120, check=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(gzip.compress(r.stdout, compresslevel=1))
    tmp.replace(out)
    stamp.write_text(key)
    return out


# QEMU user networking: the guest's 10.0.2.2 is the host's loopback (a broker on 127.0.0.1).
USER_NET = ("-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0")
HOST_FROM_GUEST = "10.0.2.2"


def run(out: Path, guest: Path | None = None, timeout_s: float = 170, extra_args: tuple[str, ...] = ()) -> VmResult:
    """Boot, run the guest script with ``out`` shared writable at /mnt/vmout, power off.
    ``extra_args`` go to QEMU (e.g. USER_NET for a network card)."""
    reason = skip_reason()
    if reason:
        raise VmUnavailable(reason)
    try:
        k = prepare()
    except KernelUnavailable as e:
        raise VmUnavailable(f"Debian kernel unavailable: {e}") from None
    guest = guest or Path(__file__).resolve().parent / "guest.sh"
    initrd = build_initramfs(k, guest)
    out.mkdir(parents=True, exist_ok=True)
    (out / "python.path").write_text(sys.executable)
    cmd = [
        "qemu-system-x86_64", "-accel", "tcg", "-smp", "1", "-m", "768", "-nodefaults", "-no-reboot",
        "-display", "none", "-serial", "stdio",
        "-kernel", str(k.vmlinux), "-initrd", str(initrd),
        "-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init",
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={out},mount_tag=vmout,security_model=passthrough",
        *extra_args,
    ]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        console = (e.stdout or b"").decode(errors="replace")
        raise AssertionError(f"VM did not finish within {timeout_s:.0f} s; console tail:\n{console[-2000:]}"
                             ) from None
    return VmResult(out, time.monotonic() - t0, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace"))


if __name__ == "__main__":
    res = run(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".cache" / "wifi-vm" / "out")
    print(res.console[-3000:])
    print(f"wall {res.wall_s:.1f} s; results in {res.out}")
