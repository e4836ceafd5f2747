#!/bin/sh
# Runs inside the VM (tests/vm/wifi_vm.py, chrooted into the host root with a tmpfs overlay):
# the agent started and stopped by init.d/zte-uxip.sysv the way a busybox router does it —
# busybox's sh, start-stop-daemon, logger, syslogd, mkfifo and kill — publishing to the host's
# mosquitto through QEMU user networking (10.0.2.2 = the host's loopback).
# $1: the writable results share (config.toml, python.path from the test), $2: the unpacked kernel.
set -u
OUT=$1
KROOT=$2
REPO=$(cd "$(dirname "$0")/../.." && pwd)
say() { echo "guest: $* at $(cut -d' ' -f1 /proc/uptime)s"; }
# busybox applets first on PATH: the router's userland
BB=/tmp/busybox-bin
mkdir -p "$BB"
for a in sh start-stop-daemon logger syslogd mkfifo sleep cat rm mkdir ln kill; do ln -sf /bin/busybox "$BB/$a"; done
export PATH=$BB:/usr/sbin:/usr/bin:/sbin:/bin
modprobe -d "$KROOT" virtio_net || { say "modprobe virtio_net failed"; exit 3; }
for i in $(seq 1 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
say "network up"
mkdir -p /etc/zte_uxip /var/run /run
cp "$OUT/config.toml" /etc/zte_uxip/config.toml
echo 1 > /etc/zte_uxip/enabled
# /usr/bin/zte-uxip as the package installs it: the test's console script (its venv has the deps)
ln -sf "$(dirname "$(cat "$OUT/python.path")")/zte-uxip" /usr/bin/zte-uxip
syslogd -n -O "$OUT/syslog.txt" &
SYSLOGD=$!
sleep 0.5
INIT="/bin/busybox sh $REPO/init.d/zte-uxip.sysv"
step() {  # name: run the init script verb, wait for the test's go-ahead file on the share
  say "$1"
  $INIT "$2"; echo "$1 rc=$?" >> "$OUT/steps.txt"
}
wait_for() {  # a file the host test creates when it has seen what it waits for
  i=0; while [ ! -e "$OUT/$1" ] && [ $i -lt 900 ]; do sleep 0.2; i=$((i + 1)); done
  [ -e "$OUT/$1" ] || say "no $1 from the host"
}
step start1 start
wait_for seen1
step stop1 stop
cp /tmp/zte_uxip/clean_shutdown "$OUT/clean_shutdown.1" 2>/dev/null
[ -e /var/run/zte-uxip.pid ] && echo "pidfile left after stop1" >> "$OUT/steps.txt"
step start2 start
wait_for seen2
# a crash for contrast: the next start must say so
kill -9 "$(cat /var/run/zte-uxip.pid)"
sleep 0.5
echo "killed" >> "$OUT/steps.txt"
step start3 start
wait_for seen3
step stop3 stop
sleep 0.5
kill "$SYSLOGD" 2>/dev/null
say "done"
