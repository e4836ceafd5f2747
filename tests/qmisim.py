"""A fake QMI modem on a pty: a QMUX responder for the CTL, DMS and NAS messages that
`qmicli --device-open-qmi` sends for the commands the qmi backend uses. Byte layouts follow
libqmi's data/qmi-service-*.json. Standalone: `python tests/qmisim.py` prints the pty path.

EXPECTED is what a correct reader makes of it.
"""

from __future__ import annotations

import argparse
import os
import select
import struct
import sys
import threading
import tty

from modemsim import ICCID, IMEI, IMSI, MSISDN

CTL, WDS, DMS, NAS = 0x00, 0x01, 0x02, 0x03
OK = struct.pack("<BHHH", 0x02, 4, 0, 0)  # result TLV: success


def tlv(t: int, value: bytes) -> bytes:
    return struct.pack("<BH", t, len(value)) + value


def s8(text: str) -> bytes:
    """A string TLV value without a length prefix (DMS ids)."""
    return text.encode()


# Serving system (NAS 0x0024): registered, CS+PS attached, 3GPP, one radio interface: LTE (8).
SERVING = (
    tlv(0x01, bytes([1, 1, 1, 2, 1, 8]))
    + tlv(0x10, bytes([0]))  # roaming indicator: 0 = on (a 310260 SIM on 26201)
    + tlv(0x12, struct.pack("<HHB", 262, 1, 10) + b"Telekom.de")
    + tlv(0x1C, struct.pack("<H", 0x1A2B))  # 3GPP LAC
    + tlv(0x1D, struct.pack("<I", 0x01A2D101))  # 3GPP cell ID
    + tlv(0x24, struct.pack("<H", 0x2B67))  # LTE TAC
    + tlv(0x27, struct.pack("<HHB", 262, 1, 0))  # MNC PCS digit include status: 2-digit MNC "01"
)
# Signal info (NAS 0x004F): LTE RSSI -64 dBm, RSRQ -11 dB, RSRP -95 dBm, SNR 4.8 dB (tenths).
SIGNAL = tlv(0x14, struct.pack("<bbhh", -64, -11, -95, 48))
# RF band info (NAS 0x0031): LTE (8), band class 122 = E-UTRAN band 3, channel 1300.
RF_BAND = tlv(0x01, struct.pack("<BBHH", 1, 8, 122, 1300))

# Cell location info (NAS 0x0043), TLV 0x13 intrafrequency LTE info: idle, PLMN (3 BCD bytes),
# TAC, global cell ID, EARFCN, serving cell ID (the PCI), 4 threshold bytes, one measured cell.
CELL_LOCATION = tlv(0x13, struct.pack("<B3sHIHHBBBBB", 1, bytes([0x62, 0xF2, 0x10]), 0x2B67, 0x01A2D101, 1300, 386,
                                      3, 10, 4, 20, 1)
                    + struct.pack("<Hhhhh", 386, -110, -950, -640, 28))

REPLIES: dict[tuple[int, int], bytes] = {
    (DMS, 0x0021): tlv(0x01, s8("QUALCOMM INCORPORATED")),
    (DMS, 0x0022): tlv(0x01, s8("EM7565")),
    (DMS, 0x0023): tlv(0x01, s8("SWI9X50C_01.14.03.00")),
    (DMS, 0x0024): tlv(0x01, s8(MSISDN)),
    (DMS, 0x0025): tlv(0x10, s8("0")) + tlv(0x11, s8(IMEI)) + tlv(0x12, s8("")),
    (DMS, 0x0043): tlv(0x01, s8(IMSI)),
    (DMS, 0x003C): tlv(0x01, s8(ICCID)),
    (NAS, 0x0024): SERVING,
    (NAS, 0x004F): SIGNAL,
    (NAS, 0x0031): RF_BAND,
    (NAS, 0x0043): CELL_LOCATION,
    # WDS Get Default Settings (3GPP): profile name 0x10, PDP type 0x11 (3 = IPv4v6), APN 0x14.
    (WDS, 0x002C): tlv(0x10, s8("default")) + tlv(0x11, bytes([3])) + tlv(0x14, s8("fast.t-mobile.com")),
}

EXPECTED = {
    "backend": "qmi", "manufacturer": "QUALCOMM INCORPORATED", "model": "EM7565", "firmware": "SWI9X50C_01.14.03.00",
    "imei": IMEI, "imsi": IMSI, "iccid": ICCID, "msisdn": MSISDN, "registration": "roaming", "roaming": True,
    "attached": True, "rat": "lte", "plmn": "26201", "mcc": "262", "mnc": "01", "operator_name": "Telekom.de",
    "lac": 0x1A2B, "cell_id": 0x01A2D101, "tac": 0x2B67, "rssi_dbm": -64, "rsrq_db": -11.0, "rsrp_dbm": -95,
    "sinr_db": 4.8, "band": "B3", "earfcn": 1300, "apn": "fast.t-mobile.com", "pci": 386,
}


class QmiSim:
    """Answers QMUX requests on a pty from a background thread. `hostile` = "silent" (never
    answers), "garbage" (random bytes), or "error:SVC:MSG" (a QMI error for one message)."""

    def __init__(self, hostile: str | None = None) -> None:
        self.hostile = hostile
        self.requests: list[tuple[int, int]] = []
        self.path = ""
        self._next_cid = 1
        self._stop = threading.Event()
        self._fds: list[int] = []
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._fds = [master, slave]
        self.path = os.ttyname(slave)
        self._thread = threading.Thread(target=self._serve, args=(master,), daemon=True)
        self._thread.start()
        return self.path

    def _serve(self, fd: int) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            try:
                buf += os.read(fd, 65536)
            except OSError:
                return
            while len(buf) >= 3:
                if buf[0] != 0x01:
                    del buf[0]
                    continue
                (length,) = struct.unpack_from("<H", buf, 1)
                if len(buf) < length + 1:
                    break
                frame = bytes(buf[: length + 1])
                del buf[: length + 1]
                out = self.answer(frame)
                if out:
                    os.write(fd, out)

    def answer(self, frame: bytes) -> bytes:
        _, _, _flags, svc, cid = struct.unpack_from("<BHBBB", frame, 0)
        sdu = frame[6:]
        if self.hostile == "silent":
            return b""
        if self.hostile == "garbage":
            return bytes((i * 37 + 11) % 256 for i in range(300))
        if svc == CTL:
            _f, txn, msg, _ln = struct.unpack_from("<BBHH", sdu, 0)
            self.requests.append((CTL, msg))
            body = OK
            if msg == 0x0022:  # allocate CID: TLV 0x01 = service
                service = sdu[6 + 3]
                body += tlv(0x01, bytes([service, self._next_cid]))
                self._next_cid = self._next_cid % 250 + 1
            elif msg == 0x0023:  # release CID: echo the allocation info
                body += tlv(0x01, sdu[6 + 3: 6 + 5])
            resp = struct.pack("<BBHH", 0x01, txn, msg, len(body)) + body
        else:
            _f, txn, msg, _ln = struct.unpack_from("<BHHH", sdu, 0)
            self.requests.append((svc, msg))
            if self.hostile == f"error:{svc}:{msg}" or (svc, msg) not in REPLIES:
                body = struct.pack("<BHHH", 0x02, 4, 1, 0x0047)  # failure: QMI_ERR_NOT_SUPPORTED
            else:
                body = OK + REPLIES[(svc, msg)]
            resp = struct.pack("<BHHH", 0x02, txn, msg, len(body)) + body
        return struct.pack("<BHBBB", 0x01, 5 + len(resp), 0x80, svc, cid) + resp

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def __enter__(self) -> QmiSim:
        if not self.path:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description="pty QMI (QMUX) modem simulator")
    ap.add_argument("--hostile", help="silent, garbage or error:SVC:MSG")
    args = ap.parse_args()
    sim = QmiSim(args.hostile)
    print(sim.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
