#!/bin/sh
# Installs the Debian packages the tests and the demo drive for real (broker, netns tools,
# QEMU for the Wi-Fi tier, ModemManager, qmicli, and the `ping`/`nslookup` the remote `ping` and
# `dns` verbs run: busybox's applets on a router, iputils and bind9's nslookup on Debian).
# Only what is missing; only as root with apt.
# Each line: a package, and the command whose absence means it is needed.
set -eu
PKGS="
iproute2:ip
procps:sysctl
mosquitto:mosquitto
mosquitto-clients:mosquitto_pub
openssl:openssl
socat:socat
qemu-system-x86:qemu-system-x86_64
busybox-static:busybox
hostapd:hostapd
wpasupplicant:wpa_supplicant
iw:iw
cpio:cpio
kmod:modprobe
dbus:dbus-daemon
modemmanager:ModemManager
libqmi-utils:qmicli
postgresql:pg_ctlcluster
chromium:chromium
chromium-driver:chromedriver
iputils-ping:ping
bind9-dnsutils:nslookup
"
missing=""
installed() { # package, command: dpkg's word where there is dpkg, else the command's presence
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
  else
    command -v "$2" >/dev/null 2>&1 || [ -x "/usr/sbin/$2" ]
  fi
}
for entry in $PKGS; do
  pkg=${entry%%:*}; cmd=${entry#*:}
  installed "$pkg" "$cmd" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing:$missing (install them, or run as root on Debian); tests that need them will skip" >&2
  exit 0
fi
echo "system-deps: apt-get install$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >/dev/null
