"""What every collector is, and what it is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import Config

WAN_UP_KEY = "wan_up"  # Context.extras: the WAN collector's live check, for the transport's gate
EventSink = Callable[[dict[str, Any]], None]


def _drop_event(_event: dict[str, Any]) -> None:
    return None


@dataclass
class Context:
    """Shared, read-only inputs for building collectors."""

    config: Config | None = None
    modem_spec: str = "auto"
    root: str = ""  # prefix for /proc, /sys, /etc: recorded trees in tests
    emit: EventSink = _drop_event  # events go to the batch's events[]
    links_exclude: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    # The agent sets this: keep state on disk (RAM state dir, and flash on shutdown/daily).
    # `sample` leaves it False and only reads what the agent left there.
    persist: bool = False


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
