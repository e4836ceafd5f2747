#!/bin/sh
# Installs the Debian packages the tests and the demo drive for real (broker, netns tools,
# QEMU for the Wi-Fi tier, ModemManager, qmicli). Only what is missing; only as root with apt.
# Each line: a package, and the command whose absence means it is needed.
set -eu
PKGS="
iproute2:ip
mosquitto:mosquitto
mosquitto-clients:mosquitto_pub
openssl:openssl
socat:socat
dbus:dbus-daemon
modemmanager:ModemManager
libqmi-utils:qmicli
"
missing=""
for entry in $PKGS; do
  pkg=${entry%%:*}; cmd=${entry#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    missing="$missing $pkg"
  fi
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
apt-get install -y -qq --no-install-recommends $missing >/dev/null
