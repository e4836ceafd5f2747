#!/bin/sh
# Runs inside the VM (tests/vm/wifi_vm.py), chrooted into the host root with a tmpfs overlay.
# $1: the writable results share, $2: the unpacked kernel package (modules). hwsim radios wlan0 (AP, WPA2, channel 6) and wlan1 (station).
set -u
OUT=$1
KROOT=$2
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "guest: $*"; }
t0=$(cut -d' ' -f1 /proc/uptime)
say "up at ${t0}s"
modprobe -d "$KROOT" mac80211_hwsim radios=2 || { say "modprobe mac80211_hwsim failed"; exit 3; }
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/wlan1 ] && break; sleep 0.2; done
# hwsim reuses fixed MACs: random locally administered ones
rnd() { od -An -N5 -tx1 /dev/urandom | tr -s ' ' ':' | sed 's/^:/02:/;s/:$//'; }
ip link set wlan0 address "$(rnd)"
ip link set wlan1 address "$(rnd)"
mkdir -p /run/hostapd /run/wpa_supplicant
cat > /tmp/hostapd.conf <<CONF
interface=wlan0
driver=nl80211
ctrl_interface=/run/hostapd
ssid=uxip-test-net
hw_mode=g
channel=6
wpa=2
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
wpa_passphrase=1234567890
CONF
cat > /tmp/wpa.conf <<CONF
ctrl_interface=/run/wpa_supplicant
network={
  ssid="uxip-test-net"
  psk="1234567890"
  key_mgmt=WPA-PSK
}
CONF
hostapd -B -P /run/hostapd.pid /tmp/hostapd.conf > "$OUT/hostapd.log" 2>&1 || { say "hostapd failed"; cat "$OUT/hostapd.log"; exit 4; }
wpa_supplicant -B -D nl80211 -i wlan1 -c /tmp/wpa.conf -P /run/wpa.pid > "$OUT/wpa.log" 2>&1 || { say "wpa_supplicant failed"; exit 5; }
ok=""
for i in $(seq 1 150); do
  if wpa_cli -p /run/wpa_supplicant -i wlan1 status 2>/dev/null | grep -q wpa_state=COMPLETED \
     && iw dev wlan0 station dump | grep -q "authorized:.*yes"; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || { say "station did not associate"; wpa_cli -p /run/wpa_supplicant -i wlan1 status; exit 6; }
say "associated at $(cut -d' ' -f1 /proc/uptime)s"
# hostapd config for the collector's wireless-config reader
cp /tmp/hostapd.conf "$OUT/hostapd.conf.used" 2>/dev/null
iw dev > "$OUT/iw_dev.txt"
iw dev wlan0 station dump > "$OUT/iw_station_wlan0.txt"
iw dev wlan0 survey dump > "$OUT/iw_survey_wlan0.txt" 2>&1
if [ -f "$REPO/tests/vm/guest_collect.py" ]; then
  PY=python3
  [ -f "$OUT/python.path" ] && PY=$(cat "$OUT/python.path")  # the test's interpreter (its venv has cbor2)
  # the command line, end to end: what `sample --once` shows on a router with Wi-Fi
  PYTHONPATH="$REPO" "$PY" -B -m zte_uxip.cli sample --once --modem none --format json > "$OUT/sample.json"
  PYTHONPATH="$REPO" "$PY" -B "$REPO/tests/vm/guest_collect.py" "$OUT" /tmp/hostapd.conf
  echo "collect_rc=$?" > "$OUT/collect.rc"
fi
iw dev wlan0 station dump > "$OUT/iw_station_wlan0_after.txt"
say "done at $(cut -d' ' -f1 /proc/uptime)s"
