"""links[]: every interface of the namespace with its oper state and the kernel's cumulative
counters (not counts since the agent started)."""

from __future__ import annotations

from typing import Any

from ..sources.rtnl import LinkInfo, LinkSource
from .base import Context


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

    def prime(self) -> None:
        return None

    def collect(self) -> list[dict[str, Any]]:
        return [link_json(li) for li in sorted(self._source.links(), key=lambda li: li.index)
                if li.name not in self._exclude]

    def close(self) -> None:
        self._source.close()
