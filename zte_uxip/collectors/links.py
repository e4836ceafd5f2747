"""links[]: every interface of the namespace with its oper state and the kernel's cumulative
counters (not counts since the agent started), and rx/tx rates over the sample interval with
their peak inside the report interval."""

from __future__ import annotations

from typing import Any

from .. import clock
from ..sources.rtnl import LinkInfo, LinkSource
from .base import Context
from .throughput import RateMeter


def link_json(link: LinkInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": link.name,
        "oper": link.oper,
        "admin_up": link.admin_up,
        "carrier": link.carrier,
        "mtu": link.mtu,
        "kind": link.kind,
        "carrier_changes_total": link.carrier_changes_total,
    }
    out.update(link.counters)
    return {k: v for k, v in out.items() if v is not None}


class LinksCollector:
    section = "links"

    def __init__(self, ctx: Context, source: LinkSource | None = None) -> None:
        if source is None:
            from ..sources.rtnl import RtnlSource

            source = RtnlSource()
        self._source = source
        self._exclude = set(ctx.links_exclude)
        self.rates = RateMeter(ctx.config.intervals.report_s if ctx.config else 60)

    def prime(self) -> None:
        self.collect()  # the baseline for the first rates

    def collect(self) -> list[dict[str, Any]]:
        now = clock.monotonic_s()
        out = []
        links = sorted(self._source.links(), key=lambda li: li.index)
        for li in links:
            if li.name in self._exclude:
                continue
            item = link_json(li)
            if "rx_bytes_total" in li.counters:
                item.update(self.rates.update(li.index, li.counters["rx_bytes_total"],
                                              li.counters["tx_bytes_total"], now))
            out.append(item)
        self.rates.keep_only({li.index for li in links})
        return out

    def close(self) -> None:
        self._source.close()
