"""The allow-list (DESIGN.md verbs table): read-only verbs and their typed arguments.

Everything a command carries is checked here before anything runs: an unknown verb, an
unknown, missing, mistyped or out-of-range argument is refused. Host names follow RFC 1123
(letters, digits, hyphens; labels of 1..63, 253 in all), IP literals are parsed by
``ipaddress``; nothing can start with ``-``, so no argument can be read as a tool's option, and
the tools get argument lists, never a shell.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from .envelope import Refused

MAX_HOST_CHARS = 253
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class Arg(NamedTuple):
    name: str
    kind: str  # "int", "host" (name or IP literal), "name" (host name only)
    required: bool = True
    lo: int = 0
    hi: int = 0
    default: int | None = None


VERBS: dict[str, tuple[Arg, ...]] = {
    "snapshot": (),
    "events": (Arg("count", "int", required=False, lo=1, hi=100, default=10),),
    "link": (),
    "modem": (),
    "ping": (Arg("host", "host"), Arg("count", "int", required=False, lo=1, hi=10, default=4)),
    "dns": (Arg("name", "name"),),
    "selftest": (),
}


def is_host_name(value: str) -> bool:
    """RFC 1123 host name (no trailing dot, no leading '-', ASCII only)."""
    if not value or len(value) > MAX_HOST_CHARS or not value.isascii():
        return False
    labels = value.split(".")
    return all(_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


def is_ip_literal(value: str) -> bool:
    if not value or len(value) > 45 or "%" in value or value.startswith("-"):  # no IPv6 zone ids
        return False
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _check(arg: Arg, value: Any) -> Any:
    if arg.kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise Refused(f"argument {arg.name}: must be an integer")
        if not arg.lo <= value <= arg.hi:
            raise Refused(f"argument {arg.name}: out of range {arg.lo}..{arg.hi}")
        return value
    if not isinstance(value, str):
        raise Refused(f"argument {arg.name}: must be text")
    if value.startswith("-"):
        raise Refused(f"argument {arg.name}: must not start with '-'")
    if len(value) > MAX_HOST_CHARS:
        raise Refused(f"argument {arg.name}: longer than {MAX_HOST_CHARS} characters")
    if arg.kind == "host" and (is_ip_literal(value) or is_host_name(value)):
        return value
    if arg.kind == "name" and is_host_name(value):
        return value
    what = "a host name or IP address" if arg.kind == "host" else "a host name"
    raise Refused(f"argument {arg.name}: not {what} (RFC 1123)")


def validate(verb: str, args: dict[str, Any]) -> dict[str, Any]:
    """-> the arguments with defaults filled in, or Refused naming the problem."""
    spec = VERBS.get(verb)
    if spec is None:
        raise Refused("unknown verb")
    names = {a.name for a in spec}
    for key in args:
        if key not in names:
            raise Refused(f"unknown argument {safe_text(key)}")
    out: dict[str, Any] = {}
    for arg in spec:
        if arg.name in args:
            out[arg.name] = _check(arg, args[arg.name])
        elif arg.required:
            raise Refused(f"missing argument {arg.name}")
        elif arg.default is not None:
            out[arg.name] = arg.default
    return out


def safe_text(value: Any, limit: int = 32) -> str:
    """A network-supplied name as it may appear in the log: printable ASCII, bounded."""
    text = value if isinstance(value, str) else repr(value)
    cleaned = "".join(ch if 32 < ord(ch) < 127 else "?" for ch in text[:limit])
    return cleaned + ("..." if len(text) > limit else "")
