"""Roles are Django groups (DESIGN.md "Server"): what each may do, in one table.

``admin`` may do everything; ``support`` views devices and runs diagnostics; ``privacy`` views
devices (to find what to export or erase), exports, erases and reads the audit log. A signed-in
user in no group sees nothing. The groups themselves are created by a data migration.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

ROLES = ("support", "privacy", "admin")

# permission -> roles that hold it
CAN: dict[str, frozenset[str]] = {
    "view_devices": frozenset({"support", "privacy", "admin"}),
    "run_commands": frozenset({"support", "admin"}),
    "export": frozenset({"privacy", "admin"}),
    "erase": frozenset({"privacy", "admin"}),
    "read_audit": frozenset({"privacy", "admin"}),
    "manage_users": frozenset({"admin"}),
}


def roles_of(user: Any) -> frozenset[str]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_uxip_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._uxip_roles = cached
    return cached


def can(user: Any, permission: str) -> bool:
    return bool(roles_of(user) & CAN[permission])


def perms(user: Any) -> dict[str, bool]:
    """For templates: which buttons to show."""
    return {p: can(user, p) for p in CAN}


def require(permission: str, methods: tuple[str, ...] = ("GET",)
            ) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrong method -> 405; anonymous -> the login page; signed in without the role -> 403."""

    def deco(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can(request.user, permission):
                return render(request, "console/forbidden.html", {"permission": permission}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return deco
