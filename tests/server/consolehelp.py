"""Users and roles for the console tests. The groups are made here with get_or_create (in the
product a data migration makes them); the console only ever names them."""

from __future__ import annotations

from typing import Any

PASSWORD = "correct horse battery staple"


def make_user(username: str, role: str | None, password: str = PASSWORD) -> Any:
    from django.contrib.auth.models import Group, User

    for name in ("support", "privacy", "admin"):
        Group.objects.get_or_create(name=name)
    u = User.objects.create_user(username, password=password)
    if role:
        u.groups.add(Group.objects.get(name=role))
    return u


def login(client: Any, role: str | None, username: str | None = None) -> Any:
    u = make_user(username or f"{role or 'norole'}-user", role)
    client.force_login(u, backend="django.contrib.auth.backends.ModelBackend")
    return u
