"""The schema as CDDL (RFC 8610), generated from the registry.

docs/schema.cddl is this output; a test keeps the two equal and validates encoded messages
against it with an independent CDDL implementation. Run ``python -m zte_uxip.wire.cddl``.
"""

from __future__ import annotations

from .schema import (
    KEY_KIND,
    KEY_SCHEMA,
    MAX_LIST_ITEMS,
    MAX_STR_BYTES,
    MESSAGES,
    PSEUDONYM_BYTES,
    SCHEMA_VERSION,
    Field,
    Kind,
    MessageKind,
)

_SCALAR = {
    Kind.UINT: "uint",
    Kind.INT: "int",
    Kind.FIXED: "int",
    Kind.BOOL: "bool",
    Kind.STR: f"tstr .size (0..{MAX_STR_BYTES})",
    Kind.PSEUDONYM: f"bstr .size {PSEUDONYM_BYTES}",
}


class _Gen:
    def __init__(self) -> None:
        self.rules: list[str] = []
        self.names: dict[tuple[tuple[Field, ...], bool], str] = {}

    def group(self, fields: tuple[Field, ...], name: str, diff: bool, head: tuple[str, ...] = ()) -> str:
        """Name of a rule for a map with these fields (full or diff form), generated once."""
        memo = (fields, diff)
        if memo in self.names and not head:
            return self.names[memo]
        rule = f"{name}-diff" if diff else name
        if not head:
            self.names[memo] = rule
        entries = [f"  {h}," for h in head]
        for f in fields:
            entries.append(f"  ? {f.key} => {self.value(f, name, diff)},  ; {f.name} ({f.privacy.value})")
        self.rules.append(f"{rule} = {{\n" + "\n".join(entries) + "\n}")
        return rule

    def value(self, f: Field, parent: str, diff: bool) -> str:
        top = parent in ("snapshot", "snapshot-message", "batch-message", "status-message")
        child = f.name.replace("_", "-") if top else f"{parent}-{f.name.replace('_', '-')}"
        if f.kind is Kind.MAP:
            full = self.group(f.children, child, False)
            return f"{self.group(f.children, child, True)} / {full} / null" if diff else full
        if f.kind is Kind.LIST:
            full = self.group(f.children, child + "-item", False)
            limit = f"{MAX_LIST_ITEMS}"
            if diff:
                d = self.group(f.children, child + "-item", True)
                return f"[0*{limit} {d}] / [0*{limit} {full}] / null"
            return f"[0*{limit} {full}]"
        if diff:
            return ("int" if f.delta else _SCALAR[f.kind]) + " / null"
        return _SCALAR[f.kind]


def generate() -> str:
    g = _Gen()

    def head(kind: MessageKind) -> tuple[str, ...]:
        return (f"{KEY_SCHEMA} => {SCHEMA_VERSION}", f"{KEY_KIND} => {kind.value}")

    snapshot = MESSAGES[MessageKind.SNAPSHOT]
    batch = MESSAGES[MessageKind.BATCH]
    snap_rule = g.group(snapshot, "snapshot", False)
    snap_diff = g.group(snapshot, "snapshot", True)
    snaps_key = next(f.key for f in batch if f.name == "snapshots")
    g.group(snapshot, "snapshot-message", False, head(MessageKind.SNAPSHOT))
    g.group(tuple(f for f in batch if f.name != "snapshots"), "batch-message", False,
            (*head(MessageKind.BATCH), f"? {snaps_key} => batch-snapshots"))
    g.rules.append(f"batch-snapshots = [{snap_rule}, 0*{MAX_LIST_ITEMS} {snap_diff}] / []")
    g.group(MESSAGES[MessageKind.STATUS], "status-message", False, head(MessageKind.STATUS))
    top = [
        "; zte_uxip wire schema, generated from zte_uxip/wire/schema.py by",
        "; `python -m zte_uxip.wire.cddl`. Do not edit by hand.",
        "; Every message is a CBOR map with integer keys; key 0 the schema version, key 1 the kind.",
        "; Inside a batch, snapshots after the first carry only changes (null = removed) and",
        "; cumulative fields as differences.",
        "",
        "message = snapshot-message / batch-message / status-message",
        "",
    ]
    return "\n".join(top) + "\n\n".join(g.rules) + "\n"


if __name__ == "__main__":
    print(generate(), end="")
