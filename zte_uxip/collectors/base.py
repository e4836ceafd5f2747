"""What every collector is, and what it is given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..config import Config

WAN_UP_KEY = "wan_up"  # Context.extras: the WAN collector's live check, for the transport's gate
EventSink = Callable[[dict[str, Any]], None]


def _drop_event(_event: dict[str, Any]) -> None:
    return None


class Context:
    """Shared inputs for building collectors (a plain class: dataclasses would bring ``inspect``
    onto the agent's run path, ~1.1 MiB RSS)."""

    def __init__(self, config: Config | None = None, modem_spec: str = "auto", root: str = "",
                 emit: EventSink = _drop_event, links_exclude: tuple[str, ...] = (),
                 extras: dict[str, Any] | None = None, persist: bool = False) -> None:
        self.config = config
        self.modem_spec = modem_spec
        self.root = root  # prefix for /proc, /sys, /etc: recorded trees in tests
        self.emit = emit  # events go to the batch's events[]
        self.links_exclude = links_exclude
        self.extras: dict[str, Any] = {} if extras is None else extras
        # The agent sets this: keep state on disk (RAM state dir, and flash on shutdown/daily).
        # `sample` leaves it False and only reads what the agent left there.
        self.persist = persist


class Collector(Protocol):
    """Fills one top-level section of a snapshot (``section``: a schema name such as "wifi").

    ``collect`` returns that section's JSON value, or None when there is nothing here (no radio,
    no modem): "nothing here" is not an error. A broken source raises SourceError; the sampler
    logs one line and the snapshot simply lacks the section.
    """

    section: str

    def prime(self) -> None: ...

    def collect(self) -> Any: ...

    def close(self) -> None: ...
