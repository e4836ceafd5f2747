"""Server-side SVG charts: no JavaScript, nothing fetched, readable in a screenshot.

Each chart has a unit on its y axis, a UTC time axis, a legend, gaps where there is no data
(lines are not drawn across them), and the WAN drops of the range as red vertical marks, so a
drop lines up with the signal at that moment. Every text is escaped here (radio names come
from the device); colours are SVG presentation attributes, not inline styles (the CSP forbids
those).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .series import Series

W, H = 760, 220
L, R, T, B = 52, 62, 28, 24
PW, PH = W - L - R, H - T - B

BLUE, ORANGE, GREEN, PURPLE, GREY, RED = "#1f5fa8", "#d9730d", "#2e8b3d", "#7b3fa0", "#888888", "#c8102e"
RADIO_COLOURS = (BLUE, ORANGE, GREEN, PURPLE)
DROP = RED

# (low, high, fill, label): what the numbers mean to a support engineer
RSRP_BANDS = [(-80, -44, "#d8f0d8", "excellent"), (-90, -80, "#e8f5d0", "good"),
              (-100, -90, "#fbf3c8", "fair"), (-110, -100, "#fde2c4", "poor"), (-140, -110, "#f8cccc", "no good")]
SINR_BANDS = [(20, 40, "#d8f0d8", "excellent"), (13, 20, "#e8f5d0", "good"),
              (0, 13, "#fbf3c8", "fair"), (-20, 0, "#f8cccc", "poor")]


@dataclass
class Line:
    label: str
    colour: str
    key: str
    scale: float = 1.0
    width: float = 2.0
    dash: str = ""


@dataclass
class Chart:
    title: str
    unit: str
    y_min: float
    y_max: float
    lines: list[Line]
    bands: Sequence[tuple[float, float, str, str]] = ()
    y_ticks: Sequence[float] | None = None
    fmt: Callable[[float], str] = lambda v: f"{v:g}"
    drop_key: str = ""  # the drop's field-data value to mark on this chart


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _time_ticks(s: Series) -> list[tuple[int, str]]:
    span = s.end - s.start
    if span <= 86400:
        step, fmt = 3 * 3600, "%H:%M"
    elif span <= 7 * 86400:
        step, fmt = 86400, "%a %d"
    else:
        step, fmt = 3 * 86400, "%b %d"
    first = (s.start // step + 1) * step
    return [(t, datetime.fromtimestamp(t, UTC).strftime(fmt)) for t in range(first, s.end, step)]


class _Svg:
    def __init__(self, s: Series, label: str, height: int = H) -> None:
        self.s, self.h = s, height
        self.ph = height - T - B
        self.parts: list[str] = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" width="{W}" height="{height}" '
            f'role="img" aria-label="{escape(label)}" class="chart">',
            f"<title>{escape(label)}</title>",
        ]

    def x(self, t: float) -> float:
        return L + (t - self.s.start) / (self.s.end - self.s.start) * PW

    def add(self, part: str) -> None:
        self.parts.append(part)

    def text(self, x: float, y: float, s: str, anchor: str = "start", cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}>{escape(s)}</text>')

    def time_axis(self) -> None:
        base = T + self.ph
        self.add(f'<line x1="{L}" y1="{base}" x2="{L + PW}" y2="{base}" stroke="#444" stroke-width="1"/>')
        for t, lab in _time_ticks(self.s):
            x = self.x(t)
            self.add(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{base + 4}" stroke="#ddd" stroke-width="1"/>')
            self.text(x, base + 16, lab, "middle", "tick")
        self.text(L + PW + 6, base + 16, "UTC", "start", "tick unit")

    def drops(self, y: Callable[[float], float] | None = None, key: str = "") -> None:
        """Each drop: a faint line through the plot, a tick above it, and with ``key`` a dot at the
        value the device recorded at the moment of the drop (its field data)."""
        faint = "0.5" if len(self.s.drops) <= 40 else "0.2"
        for d in self.s.drops:
            x = self.x(d["ts"])
            self.add(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{T + self.ph}" stroke="{DROP}" '
                     f'stroke-width="1" opacity="{faint}"/>')
            self.add(f'<line x1="{x:.1f}" y1="{T - 6}" x2="{x:.1f}" y2="{T}" stroke="{DROP}" stroke-width="1.5"/>')
        if y is None or not key:
            return
        for d in self.s.drops:
            v = d.get(key)
            if isinstance(v, int | float):
                self.add(f'<circle cx="{self.x(d["ts"]):.1f}" cy="{y(float(v)):.1f}" r="3.2" fill="{DROP}" '
                         'stroke="#fff" stroke-width="0.8"/>')

    def legend(self, items: list[tuple[str, str, str]]) -> None:
        """(label, colour, kind: line|box|dash) left to right above the plot."""
        x = L
        for label, colour, kind in items:
            if kind == "dot":
                self.add(f'<line x1="{x}" y1="13" x2="{x + 16}" y2="13" stroke="{colour}" stroke-width="1" '
                         f'opacity="0.5"/><circle cx="{x + 8}" cy="13" r="3.2" fill="{colour}"/>')
            elif kind == "box":
                self.add(f'<rect x="{x}" y="7" width="12" height="12" fill="{colour}" '
                         'stroke="#999" stroke-width="0.5"/>')
            else:
                dash = ' stroke-dasharray="3 2"' if kind == "dash" else ""
                self.add(f'<line x1="{x}" y1="13" x2="{x + 16}" y2="13" stroke="{colour}" stroke-width="2.5"{dash}/>')
            self.text(x + 20, 17, label, cls="legend")
            x += 30 + int(len(label) * 7.0)

    def done(self) -> SafeString:
        self.parts.append("</svg>")
        return mark_safe("".join(self.parts))  # noqa: S308 (numbers and escaped text only)


def _segments(s: Series, key: str, scale: float) -> list[list[tuple[float, float]]]:
    """Points per run of consecutive buckets; a missing bucket breaks the line."""
    segs: list[list[tuple[float, float]]] = []
    prev_b = None
    for r in s.rows:
        v = r.get(key)
        if v is None:
            prev_b = None
            continue
        pt = (float(r["t"]), float(v) * scale)
        if prev_b is not None and r["b"] == prev_b + 1 and segs:
            segs[-1].append(pt)
        else:
            segs.append([pt])
        prev_b = r["b"]
    return segs


def line_chart(s: Series, c: Chart) -> SafeString:
    svg = _Svg(s, f"{c.title} ({c.unit})")
    span = c.y_max - c.y_min

    def y(v: float) -> float:
        v = min(max(v, c.y_min), c.y_max)
        return T + (c.y_max - v) / span * PH

    for lo, hi, fill, _ in c.bands:
        y1, y2 = y(hi), y(lo)
        svg.add(f'<rect x="{L}" y="{y1:.1f}" width="{PW}" height="{max(0.0, y2 - y1):.1f}" fill="{fill}"/>')
    for lo, hi, _, lab in c.bands:
        svg.text(L + PW + 4, y((max(lo, c.y_min) + min(hi, c.y_max)) / 2) + 4, lab, "start", "band")
    ticks = c.y_ticks or [c.y_min + span * i / 4 for i in range(5)]
    for v in ticks:
        svg.add(f'<line x1="{L - 4}" y1="{y(v):.1f}" x2="{L + PW}" y2="{y(v):.1f}" stroke="#e4e4e4" stroke-width="1"/>')
        svg.text(L - 7, y(v) + 4, c.fmt(v), "end", "tick")
    svg.text(6, T - 8, c.unit, cls="tick unit")
    svg.add(f'<line x1="{L}" y1="{T}" x2="{L}" y2="{T + PH}" stroke="#444" stroke-width="1"/>')
    svg.time_axis()
    svg.drops()
    drawn = False
    for ln in c.lines:
        dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
        for seg in _segments(s, ln.key, ln.scale):
            drawn = True
            if len(seg) == 1:
                px, py = seg[0]
                svg.add(f'<circle cx="{svg.x(px):.1f}" cy="{y(py):.1f}" r="1.8" fill="{ln.colour}"/>')
                continue
            pts = " ".join(f"{svg.x(px):.1f},{y(py):.1f}" for px, py in seg)
            svg.add(f'<polyline points="{pts}" fill="none" stroke="{ln.colour}" stroke-width="{ln.width}"'
                    f' stroke-linejoin="round"{dash}/>')
    if c.drop_key:
        svg.drops(y, c.drop_key)
    if not drawn:
        svg.text(L + PW / 2, T + PH / 2, "no data in this period", "middle", "nodata")
    legend = [(ln.label, ln.colour, "dash" if ln.dash else "line") for ln in c.lines]
    if s.drops:
        legend.append((f"WAN drop ({len(s.drops)})" + (", value at the drop" if c.drop_key else ""), DROP,
                       "dot" if c.drop_key else "line"))
    svg.legend(legend)
    return svg.done()


def wan_strip(s: Series) -> SafeString:
    """WAN up/down as a coloured strip per bucket, with the drops marked."""
    height = 84
    svg = _Svg(s, "WAN up/down", height)
    ph = height - T - B
    svg.add(f'<rect x="{L}" y="{T}" width="{PW}" height="{ph}" fill="#f1f1f1"/>')
    bw = PW * s.bucket_s / (s.end - s.start)
    for r in s.rows:
        up = r.get("up")
        if up is None:
            continue
        colour = GREEN if up >= 0.999 else (RED if up <= 0.001 else ORANGE)
        x = svg.x(r["b"] * s.bucket_s)
        svg.add(f'<rect x="{x:.1f}" y="{T}" width="{bw + 0.3:.2f}" height="{ph}" fill="{colour}"/>')
    svg.time_axis()
    svg.drops()
    if not s.rows:
        svg.text(L + PW / 2, T + ph / 2 + 4, "no data in this period", "middle", "nodata")
    svg.legend([("up", GREEN, "box"), ("partly down", ORANGE, "box"), ("down", RED, "box"),
                ("no data", "#f1f1f1", "box"), (f"WAN drop ({len(s.drops)})", DROP, "line")])
    return svg.done()


def _rate_fmt(mbit: float) -> str:
    return f"{mbit:.3g}"


def all_charts(s: Series) -> list[tuple[str, SafeString]]:
    def peak(*keys: str) -> float:
        return max([float(r[k]) for r in s.rows for k in keys if r.get(k) is not None] or [0.0])

    rate_max = _nice_max(peak("rx", "tx") / 1e6)
    rate_ticks = [rate_max * i / 5 for i in range(6)]
    clients_max = max(5.0, _nice_max(peak("clients", *(f"r{i}" for i in range(len(s.radios))))))
    step = max(1, int(clients_max // 5))
    clients_max = float(step * math.ceil(clients_max / step))
    client_ticks = [float(v) for v in range(0, int(clients_max) + 1, step)]
    radio_lines = [Line(name, RADIO_COLOURS[i % len(RADIO_COLOURS)], f"r{i}") for i, name in enumerate(s.radios)]
    if not radio_lines:
        radio_lines = [Line("all radios", BLUE, "clients")]
    return [
        ("Signal: RSRP", line_chart(s, Chart(
            "RSRP", "dBm", -130, -60,
            [Line("RSRP average", BLUE, "rsrp"), Line("RSRP worst", PURPLE, "rsrp_min", width=1.2)],
            RSRP_BANDS, [-130, -120, -110, -100, -90, -80, -70, -60], drop_key="rsrp_dbm"))),
        ("Signal: SINR", line_chart(s, Chart(
            "SINR", "dB", -20, 40,
            [Line("SINR average", BLUE, "sinr"), Line("SINR worst", PURPLE, "sinr_min", width=1.2)],
            SINR_BANDS, [-20, -10, 0, 10, 20, 30, 40], drop_key="sinr_db"))),
        ("WAN up/down", wan_strip(s)),
        ("Throughput", line_chart(s, Chart(
            "Throughput", "Mbit/s", 0, rate_max,
            [Line("download", BLUE, "rx", 1e-6), Line("upload", ORANGE, "tx", 1e-6)], y_ticks=rate_ticks,
            fmt=_rate_fmt))),
        ("CPU and memory", line_chart(s, Chart(
            "CPU and memory", "%", 0, 100, [Line("CPU", ORANGE, "cpu"), Line("memory used", PURPLE, "mem")],
            y_ticks=[0, 25, 50, 75, 90, 100]))),
        ("Wi-Fi clients per radio", line_chart(s, Chart(
            "Wi-Fi clients", "clients", 0, clients_max, radio_lines, y_ticks=client_ticks))),
    ]

