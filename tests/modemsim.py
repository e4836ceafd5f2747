"""A pty modem simulator speaking 3GPP TS 27.007 plus vendor dialects (Quectel, Huawei, ZTE,
Sierra), with echo, unsolicited result codes and CR/LF noise, and hostile modes.

Standalone: `python tests/modemsim.py --dialect quectel` prints the pty path and serves until
killed. `--unix NAME` serves the same dialect on an abstract unix socket (ModemManager's test
ports). In tests: `with ModemSim("huawei") as sim: ... sim.path ...`.

EXPECTED holds, per dialect, the `cellular` fields a correct reader must produce.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import socket
import sys
import threading
import tty
from pathlib import Path

IMEI = "356938035643809"
IMSI = "310260123456789"
ICCID = "8901260123456789012"  # 19 digits: F-padded on the SIM
EF_ICCID = "981062103254769810F2"  # the same, nibble-swapped as EF_ICCID stores it
MSISDN = "+15551230001"
IDENTIFIERS = (IMEI, IMSI, ICCID, MSISDN, MSISDN.lstrip("+"), EF_ICCID)

COMMON = {
    "AT": [],
    "AT+CMEE=1": [],
    "AT+CGSN": [IMEI],
    "AT+CIMI": [IMSI],
    "AT+CNUM": [f'+CNUM: "Own number","{MSISDN}",145'],
    "AT+CRSM=176,12258,0,0,10": [f'+CRSM: 144,0,"{EF_ICCID}"'],
    "AT+CCID": [f"+CCID: {ICCID}"],
    "AT+CGATT?": ["+CGATT: 1"],
    "AT+CGDCONT?": ['+CGDCONT: 1,"IP","fast.t-mobile.com","0.0.0.0",0,0',
                    '+CGDCONT: 2,"IPV4V6","ims","0.0.0.0",0,0'],
    "AT+CGACT?": ["+CGACT: 1,1", "+CGACT: 2,0"],
    "AT+CREG=2": [], "AT+CGREG=2": [], "AT+CEREG=2": [], "AT+C5GREG=2": [],
    "AT+COPS=3,0": [], "AT+COPS=3,2": [],
    # V.250 basics and the state queries ModemManager's generic plugin makes while it brings
    # the modem up (test mode): without them it declares the modem failed.
    "ATV1": [], "ATX4": [], "AT&C1": [], "ATH": [], "ATZ": [],
    "AT+GCAP": ["+GCAP: +CGSM,+DS,+ES"],
    "AT+CPIN?": ["+CPIN: READY"],
    "AT+CFUN?": ["+CFUN: 1"], "AT+CFUN=1": [],
    "AT+CESQ=?": ["+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)"],
}
ERROR = "ERROR"
CME4 = "+CME ERROR: 4"

DIALECTS: dict[str, dict[str, object]] = {
    # Plain 27.007 (a Telit LE910C4 speaks no extension we read): ICCID only through +CRSM.
    "standard": {
        "AT+CGMI": ["Telit"], "AT+CGMM": ["LE910C4-EU"], "AT+CGMR": ["25.21.660"],
        "AT+CCID": CME4,
        "COPS0": ['+COPS: 0,0,"T-Mobile",7'], "COPS2": ['+COPS: 0,2,"310260",7'],
        "AT+CREG?": ['+CREG: 2,1,"2B67","01A2D101",7'],
        "AT+CGREG?": ['+CGREG: 2,1,"2B67","01A2D101",7'],
        "AT+CEREG?": ['+CEREG: 2,1,"2B67","01A2D101",7'],
        "AT+C5GREG?": ["+C5GREG: 2,0"],
        "AT+CSQ": ["+CSQ: 22,99"],
        "AT+CESQ": ["+CESQ: 99,99,255,255,24,45"],
        "urcs": ['+CEREG: 1,"2B67","01A2D101",7', "RING", "+CGEV: NW MODIFY 1,0"],
    },
    # Quectel RM500Q in EN-DC (5G NSA), roaming on Telekom.de.
    "quectel": {
        "AT+CGMI": ["Quectel"], "AT+CGMM": ["RM500Q-GL"], "AT+CGMR": ["RM500QGLABR11A06M4G"],
        "COPS0": ['+COPS: 0,0,"Telekom.de",13'], "COPS2": ['+COPS: 0,2,"26201",13'],
        "AT+CREG?": ["+CREG: 2,5"],
        "AT+CGREG?": ["+CGREG: 2,0"],
        "AT+CEREG?": ['+CEREG: 2,5,"00C3","0B7A1C05",13'],
        "AT+C5GREG?": ERROR,
        "AT+CSQ": ["+CSQ: 25,99"],
        "AT+CESQ": ["+CESQ: 99,99,255,255,18,46"],
        'AT+QENG="servingcell"': [
            '+QENG: "servingcell","NOCONN"',
            '+QENG: "LTE","FDD",262,01,B7A1C05,386,1300,3,5,5,C3,-95,-11,-64,124,11,-32768,-32768',
            '+QENG: "NR5G-NSA",262,01,881,-92,25,-11,627264,78,12,1',
        ],
        "urcs": ['+QIND: "csq",25,99', '+CEREG: 5,"00C3","0B7A1C05",13', "+QIND: SMS DONE"],
    },
    # Huawei ME909s: no +CESQ, signal from ^HCSQ, RAT and roaming from ^SYSINFOEX.
    "huawei": {
        "AT+CGMI": ["huawei"], "AT+CGMM": ["ME909s-120"], "AT+CGMR": ["11.617.15.00.00"],
        "AT+CCID": ERROR,
        "COPS0": ['+COPS: 0,0,"vodafone UK",7'], "COPS2": ['+COPS: 0,2,"23415",7'],
        "AT+CREG?": ["+CREG: 2,1"],
        "AT+CGREG?": ["+CGREG: 2,1"],
        "AT+CEREG?": ['+CEREG: 2,1,"01F4","05A3B2C1",7'],
        "AT+C5GREG?": "COMMAND NOT SUPPORT",
        "AT+CSQ": ["+CSQ: 18,99"],
        "AT+CESQ": CME4,
        "AT+CGDCONT?": ['+CGDCONT: 1,"IP","internet","0.0.0.0",0,0'],
        "AT+CGACT?": ["+CGACT: 1,1"],
        "AT^SYSINFOEX": ['^SYSINFOEX: 2,3,0,1,,6,"LTE",101,"LTE"'],
        "AT^HCSQ?": ['^HCSQ: "LTE",45,41,151,25'],
        "urcs": ["^RSSI: 18", '^HCSQ: "LTE",45,41,151,25', "^MODE: 7,17", "^BOOT: 123,0,0,0,72"],
    },
    # ZTE MF833V: no +CEREG or +C5GREG; cell details from +ZCELLINFO, RSSI from +ZRSSI.
    "zte": {
        "AT+CGMI": ["ZTE CORPORATION"], "AT+CGMM": ["MF833V"], "AT+CGMR": ["BD_MF833VV1.0.0B03"],
        "COPS0": ['+COPS: 0,0,"CHN-UNICOM",7'], "COPS2": ['+COPS: 0,2,"46001",7'],
        "AT+CREG?": ['+CREG: 2,1,"A1B2","0C1D2E3F",7'],
        "AT+CGREG?": ['+CGREG: 2,1,"A1B2","0C1D2E3F",7'],
        "AT+CEREG?": ERROR, "AT+C5GREG?": ERROR, "AT+CEREG=2": ERROR, "AT+C5GREG=2": ERROR,
        "AT+CSQ": ["+CSQ: 21,99"],
        "AT+CESQ": ["+CESQ: 99,99,255,255,20,40"],
        "AT+CGDCONT?": ['+CGDCONT: 1,"IPV4V6","3gnet","0.0.0.0",0,0'],
        "AT+CGACT?": ["+CGACT: 1,1"],
        "AT+ZPAS?": ['+ZPAS: "LTE","CS_PS"'],
        "AT+ZCELLINFO?": ["+ZCELLINFO: 203238975, 77, LTE B3, 1650"],
        "AT+ZRSSI": ["+ZRSSI: 71,1000,1000"],
        "urcs": ['+ZPASR: "LTE"', "+ZUSIMR:2", '+CREG: 1,"A1B2","0C1D2E3F",7'],
    },
    # Sierra EM7455: signal and serving cell from the !GSTATUS table (tabs, blank line).
    "sierra": {
        "AT+CGMI": ["Sierra Wireless, Incorporated"], "AT+CGMM": ["EM7455"],
        "AT+CGMR": ["SWI9X30C_02.33.03.00 r8209 CARMD-EV-FRMWR2 2019/08/28 20:59:30"],
        "COPS0": ['+COPS: 0,0,"Orange F",7'], "COPS2": ['+COPS: 0,2,"20801",7'],
        "AT+CREG?": ["+CREG: 2,1"],
        "AT+CGREG?": ["+CGREG: 2,1"],
        "AT+CEREG?": ['+CEREG: 2,1,"07D0","01A2B3C4",7'],
        "AT+C5GREG?": ERROR,
        "AT+CSQ": ["+CSQ: 20,99"],
        "AT+CESQ": ["+CESQ: 99,99,255,255,14,38"],
        "AT+CGDCONT?": ['+CGDCONT: 1,"IPV4V6","orange.fr","0.0.0.0",0,0'],
        "AT+CGACT?": ["+CGACT: 1,1"],
        "AT!GSTATUS?": [
            "!GSTATUS: ",
            "Current Time:  4527\t\tTemperature: 38",
            "Reset Counter: 1\t\tMode:        ONLINE         ",
            "System mode:   LTE        \tPS state:    Attached     ",
            "LTE band:      B20     \tLTE bw:      10 MHz  ",
            "LTE Rx chan:   6300\t\tLTE Tx chan: 24300",
            "LTE CA state:  NOT ASSIGNED",
            "EMM state:     Registered     \tNormal Service ",
            "RRC state:     RRC Idle       ",
            "IMS reg state: No Srv  \t\t",
            "",
            "PCC RxM RSSI:  -72\t\tRSRP (dBm):  -103",
            "PCC RxD RSSI:  -75\t\tRSRP (dBm):  -106",
            "Tx Power:      --\t\tTAC:         07D0 (2000)",
            "RSRQ (dB):     -12.4\t\tCell ID:     01A2B3C4 (27440068)",
            "SINR (dB):      6.2",
        ],
        "urcs": ["+CGEV: ME PDN ACT 1", '+CEREG: 1,"07D0","01A2B3C4",7'],
    },
}

SILENT = "!silent"
TRANSCRIPTS = Path(__file__).resolve().parent / "fixtures" / "at"
FINAL_ERRORS = ("ERROR", "+CME ERROR", "COMMAND NOT SUPPORT")


def load_transcript(path: Path) -> dict[str, object]:
    """A recorded dialect (tests/fixtures/at/*.txt, format in its README) as a DIALECTS entry."""
    replies: dict[str, object] = {}
    current: list[str] | None = None
    for raw in path.read_text().splitlines():
        line = raw.split("  #", 1)[0].rstrip()
        if not line or line.lstrip().startswith("#"):
            continue
        if line.startswith("> "):
            current = []
            replies[line[2:].strip()] = current
            continue
        if current is None:
            raise ValueError(f"{path.name}: reply line before any '> COMMAND'")
        current.append(line.strip())
    for cmd, lines in list(replies.items()):
        assert isinstance(lines, list)
        if cmd != "urcs" and len(lines) == 1 and (lines[0] == SILENT or lines[0].startswith(FINAL_ERRORS)):
            replies[cmd] = lines[0]
    return replies


for _t in sorted(TRANSCRIPTS.glob("*.txt")):
    DIALECTS[_t.stem] = load_transcript(_t)

_BASE = {"backend": "at", "imei": IMEI, "imsi": IMSI, "iccid": ICCID, "msisdn": MSISDN, "attached": True}
EXPECTED: dict[str, dict[str, object]] = {
    "standard": {**_BASE, "manufacturer": "Telit", "model": "LE910C4-EU", "firmware": "25.21.660",
                 "operator_name": "T-Mobile", "plmn": "310260", "mcc": "310", "mnc": "260", "rat": "lte",
                 "registration": "home", "roaming": False, "tac": 0x2B67, "cell_id": 0x01A2D101,
                 "rssi_dbm": -69, "rsrq_db": -8.0, "rsrp_dbm": -96,
                 "apn": "fast.t-mobile.com"},
    "quectel": {**_BASE, "manufacturer": "Quectel", "model": "RM500Q-GL", "firmware": "RM500QGLABR11A06M4G",
                "operator_name": "Telekom.de", "plmn": "26201", "mcc": "262", "mnc": "01", "rat": "nr5g-nsa",
                "registration": "roaming", "roaming": True, "tac": 0xC3, "cell_id": 0xB7A1C05, "pci": 386,
                "earfcn": 1300, "band": "B3", "rssi_dbm": -64, "rsrp_dbm": -95, "rsrq_db": -11.0,
                "sinr_db": 4.8, "apn": "fast.t-mobile.com"},
    "huawei": {**_BASE, "manufacturer": "huawei", "model": "ME909s-120", "firmware": "11.617.15.00.00",
               "operator_name": "vodafone UK", "plmn": "23415", "mcc": "234", "mnc": "15", "rat": "lte",
               "registration": "home", "roaming": False, "tac": 0x1F4, "cell_id": 0x5A3B2C1,
               "rssi_dbm": -76, "rsrp_dbm": -100, "rsrq_db": -7.5, "sinr_db": 10.0, "apn": "internet"},
    "zte": {**_BASE, "manufacturer": "ZTE CORPORATION", "model": "MF833V", "firmware": "BD_MF833VV1.0.0B03",
            "operator_name": "CHN-UNICOM", "plmn": "46001", "mcc": "460", "mnc": "01", "rat": "lte",
            "registration": "home", "roaming": False, "tac": 0xA1B2, "cell_id": 0x0C1D2E3F, "pci": 77,
            "band": "B3", "earfcn": 1650, "rssi_dbm": -71, "rsrq_db": -10.0, "rsrp_dbm": -101, "apn": "3gnet"},
    "sierra": {**_BASE, "manufacturer": "Sierra Wireless, Incorporated", "model": "EM7455",
               "firmware": "SWI9X30C_02.33.03.00 r8209 CARMD-EV-FRMWR2 2019/08/28 20:59:30",
               "operator_name": "Orange F", "plmn": "20801", "mcc": "208", "mnc": "01", "rat": "lte",
               "registration": "home", "roaming": False, "tac": 2000, "cell_id": 0x01A2B3C4, "band": "B20",
               "earfcn": 6300, "rssi_dbm": -72, "rsrp_dbm": -103, "rsrq_db": -12.4, "sinr_db": 6.2,
               "apn": "orange.fr"},
    # The transcripts in tests/fixtures/at: cell id and TAC from +ZCELLINFO/+ZCAINFO (decimal)
    # agree with +CEREG's (hex); +ZRSSI is told LTE or 3G by its values.
    "zte-lte": {**_BASE, "manufacturer": "ZTE CORPORATION", "model": "MF286D", "firmware": "BD_MF286DV1.0.0B04",
                "operator_name": "Orange PL", "plmn": "26003", "mcc": "260", "mnc": "03", "rat": "lte",
                "registration": "home", "roaming": False, "tac": 0x2F1A, "cell_id": 0x1B2C3D4, "pci": 291,
                "band": "B3", "earfcn": 1300, "ca_bands": "B3+B32+B7", "rssi_dbm": -66, "rsrp_dbm": -97,
                "rsrq_db": -11.5, "sinr_db": 9.4, "apn": "internet"},
    "zte-umts": {**_BASE, "manufacturer": "ZTE CORPORATION", "model": "MF286D", "firmware": "BD_MF286DV1.0.0B04",
                 "operator_name": "Orange PL", "plmn": "26003", "mcc": "260", "mnc": "03", "rat": "umts",
                 "registration": "home", "roaming": False, "lac": 0xA3F1, "cell_id": 0xB1C2D3E,
                 "rssi_dbm": -79, "apn": "internet"},
    "zte-5g": {**_BASE, "manufacturer": "ZTE CORPORATION", "model": "MC801A", "firmware": "BD_MC801AV1.0.0B10",
               "operator_name": "3 AT", "plmn": "23205", "mcc": "232", "mnc": "05", "rat": "nr5g-nsa",
               "registration": "home", "roaming": False, "tac": 0x4D2, "cell_id": 0x21A3B05,
               "rssi_dbm": -61, "rsrq_db": -9.0, "rsrp_dbm": -91, "apn": "web"},
}
# The Huawei SIM answers +CCID with ERROR: its ICCID comes through +CRSM (nibble-swapped).

HOSTILE = ("silent", "binary", "endless", "cut", "hangup")


class ModemSim:
    """Serves one dialect on a pty (or an abstract unix socket) from a background thread.

    echo: echo commands (ATE0 turns it off unless sticky_echo); urcs: interleave unsolicited
    result codes; noise: extra CR/LF; hostile: one of HOSTILE for the whole session, or
    `cut:CMD` / `garbage:CMD` to spoil the reply of one command only.
    """

    def __init__(self, dialect: str = "standard", *, echo: bool = True, sticky_echo: bool = False,
                 urcs: bool = True, noise: bool = True, hostile: str | None = None, seed: int = 1) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}: {', '.join(DIALECTS)}")
        self.dialect = dialect
        self.replies = {k.upper(): v for k, v in {**COMMON, **DIALECTS[dialect]}.items()}
        self.echo = echo
        self.sticky_echo = sticky_echo
        self.urcs = urcs
        self.noise = noise
        self.hostile = hostile
        self.rng = random.Random(seed)
        self.cops_format = 0
        self.commands: list[str] = []
        self.path = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fds: list[int] = []
        self._sock: socket.socket | None = None

    # --- the dialect --------------------------------------------------------------------

    def reply(self, cmd: str) -> bytes:
        """Bytes the modem sends for one command line (echo included)."""
        up = cmd.strip().upper()
        self.commands.append(up)
        out = bytearray()
        if self.echo:
            out += cmd.encode("latin-1") + b"\r"
        if self.hostile in HOSTILE:
            return bytes(out) + self._hostile()
        if up in ("ATE0", "ATE1"):
            self.echo = self.sticky_echo or up == "ATE1"
            return bytes(out) + b"\r\nOK\r\n"
        if up.startswith("AT+COPS=3,"):
            self.cops_format = int(up[-1]) if up[-1] in "02" else self.cops_format
        key = up
        if up == "AT+COPS?":
            key = f"COPS{self.cops_format}"
        spoil = self.hostile.split(":", 1) if self.hostile and ":" in self.hostile else None
        if spoil and spoil[1].upper() == up:
            if spoil[0] == "cut":
                return bytes(out) + b"\r\n+CSQ: 2"
            return bytes(out) + bytes(self.rng.randrange(256) for _ in range(200)) + b"\r\n"
        ans = self.replies.get(key)
        if ans == SILENT:
            return bytes(out)  # the command goes unanswered
        nl = b"\r\n\r\n" if self.noise and self.rng.random() < 0.3 else b"\r\n"
        if self.urcs and self.rng.random() < 0.4:
            out += b"\r\n" + self._urc() + b"\r\n"
        if ans is None:
            return bytes(out) + b"\r\nERROR\r\n"
        if isinstance(ans, str):
            return bytes(out) + b"\r\n" + ans.encode() + b"\r\n"
        assert isinstance(ans, list)
        for i, line in enumerate(ans):
            out += nl + line.encode() if i == 0 else b"\r\n" + line.encode()
            if self.urcs and self.rng.random() < 0.15 and not line.startswith(("!", "+QENG")) and i + 1 < len(ans):
                out += b"\r\n" + self._urc()
        if ans:
            out += b"\r\n"
        if self.noise and self.rng.random() < 0.3:
            out += b"\r\r\n"
        out += b"\r\nOK\r\n"
        if self.urcs and self.rng.random() < 0.3:
            out += b"\r\n" + self._urc() + b"\r\n"
        return bytes(out)

    def _urc(self) -> bytes:
        urcs = self.replies.get("URCS") or ["RING"]
        assert isinstance(urcs, list)
        return str(self.rng.choice(urcs)).encode()

    def _hostile(self) -> bytes:
        if self.hostile == "silent":
            return b""
        if self.hostile == "binary":
            return bytes(self.rng.randrange(256) for _ in range(300)) + b"\r\n\x00\xff\r\n"
        if self.hostile == "endless":
            return b"A" * 65536
        if self.hostile == "cut":
            return b"\r\n+CSQ: 2"
        return b""

    # --- transports ---------------------------------------------------------------------

    def start(self) -> str:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._fds = [master, slave]
        self.path = os.ttyname(slave)
        self._thread = threading.Thread(target=self._serve_fd, args=(master,), daemon=True)
        self._thread.start()
        return self.path

    def start_unix(self, name: str) -> str:
        """Listen on the unix socket `name`: a path if it starts with '/', else abstract."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(name if name.startswith("/") else "\0" + name)
        s.listen(4)
        self._sock = s
        self.path = name
        self._thread = threading.Thread(target=self._serve_unix, daemon=True)
        self._thread.start()
        return name

    def _serve_unix(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            r, _, _ = select.select([self._sock], [], [], 0.2)
            if not r:
                continue
            conn, _ = self._sock.accept()
            with conn:
                self._serve_fd(conn.fileno())

    def _serve_fd(self, fd: int) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:
                i = min((j for j in (buf.find(b"\r"), buf.find(b"\n")) if j >= 0), default=-1)
                if i < 0:
                    break
                line = bytes(buf[:i]).decode("latin-1").strip()
                del buf[: i + 1]
                if not line.upper().startswith("AT"):
                    continue
                out = self.reply(line)
                if self.hostile == "hangup" and self._fds and fd == self._fds[0]:
                    os.close(fd)  # the modem vanishes (USB unplugged): the pty master is gone
                    self._fds = self._fds[1:]
                    return
                try:
                    self._write_all(fd, out)
                except OSError:
                    return

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            _, w, _ = select.select([], [fd], [], 0.2)
            if w:
                view = view[os.write(fd, view[:4096]):]

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> ModemSim:
        if not self.path:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description="pty AT modem simulator")
    ap.add_argument("--dialect", default="standard", choices=sorted(DIALECTS))
    ap.add_argument("--hostile", help=f"{', '.join(HOSTILE)}, cut:CMD or garbage:CMD")
    ap.add_argument("--no-urcs", action="store_true")
    ap.add_argument("--no-noise", action="store_true")
    ap.add_argument("--no-echo", action="store_true")
    ap.add_argument("--unix", metavar="NAME", help="serve on the abstract unix socket NAME instead of a pty")
    args = ap.parse_args()
    sim = ModemSim(args.dialect, echo=not args.no_echo, urcs=not args.no_urcs, noise=not args.no_noise,
                   hostile=args.hostile)
    print(sim.start_unix(args.unix) if args.unix else sim.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
