"""`zte-uxip-server user add NAME --role support|privacy|admin` (password: one line on stdin)
and `user del NAME`: console accounts. Roles are Django groups of the same names (created by
the store's migrations); a user has exactly one."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import common

ROLES = ("support", "privacy", "admin")
MAX_PASSWORD = 1024


def add_parser(sub: Any) -> None:
    p = sub.add_parser("user", help="add or delete a console user")
    verbs = p.add_subparsers(dest="user_verb", required=True)
    a = verbs.add_parser("add", help="add a user; the password is one line on stdin")
    common.add_config(a)
    a.add_argument("name")
    a.add_argument("--role", required=True, help="support, privacy or admin")
    d = verbs.add_parser("del", help="delete a user")
    common.add_config(d)
    d.add_argument("name")


def _name(text: str) -> str:
    if not (1 <= len(text) <= 150) or not all(c.isalnum() or c in "@.+-_" for c in text):
        raise common.InputError(f"{text[:80]!r} is not a user name (1-150 letters, digits, @ . + - _)")
    return text


def _password() -> str:
    line = sys.stdin.readline(MAX_PASSWORD + 2)
    if len(line.rstrip("\r\n")) > MAX_PASSWORD:
        raise common.InputError(f"password: longer than {MAX_PASSWORD} characters")
    password = line.rstrip("\r\n")
    if not password.strip():
        raise common.InputError("password: empty (give it as one line on stdin)")
    return password


def run(args: argparse.Namespace) -> int:
    name = _name(args.name)
    if args.user_verb == "add" and args.role not in ROLES:
        raise common.InputError(f"--role: {args.role!r} is not one of {', '.join(ROLES)}")
    password = _password() if args.user_verb == "add" else ""
    common.store_setup(args)
    from django.contrib.auth.models import Group, User
    from django.db import transaction

    from .store.audit import record

    with transaction.atomic():
        if args.user_verb == "del":
            deleted = User.objects.filter(username=name).delete()[0]
            if not deleted:
                raise common.InputError(f"no user {name}")
            record("user_del", username=common.cli_user(), remote_addr="cli", ts=common.now(), detail=name)
            print(f"deleted user {name}")
            return 0
        if User.objects.filter(username=name).exists():
            raise common.InputError(f"user {name} exists (user del first to replace it)")
        user = User.objects.create_user(name, password=password)
        user.groups.add(Group.objects.get_or_create(name=args.role)[0])  # made by migration 0002
        record("user_add", username=common.cli_user(), remote_addr="cli", ts=common.now(),
               detail=f"{name} role {args.role}")
    print(f"added user {name} with role {args.role}")
    return 0
