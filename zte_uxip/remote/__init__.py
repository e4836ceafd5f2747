"""Remote diagnostics on the device: signed, allow-listed, read-only commands (DESIGN.md "Remote
commands").

envelope.py  COSE_Sign1 (RFC 9052) parsed with cbor2, Ed25519 checked with PyNaCl (lazy)
verbs.py     the allow-list: verbs, typed arguments, validation
replay.py    ids seen within their expiry window (RAM state dir, bounded)
runner.py    what a verb does: in-loop answers, or a tool as a child process the loop watches
diagnose.py  failure classification for `link` and `selftest` from what the collectors know
log.py       the owner's view: the last 100 commands, run or refused (RAM state dir)
service.py   the one object the agent wires: checks in order, rate limit, answers
"""
