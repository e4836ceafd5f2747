"""Admin: console users and their role (one of the groups support/privacy/admin)."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import audit
from .roles import ROLES, perms, require, roles_of

MIN_PASSWORD = 12
_NAME = re.compile(r"[A-Za-z0-9_.@+-]{1,150}")


def _page(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    users = [(u, sorted(roles_of(u))) for u in User.objects.order_by("username").prefetch_related("groups")]
    return render(request, "console/users.html", {"users": users, "roles": ROLES, "error": error,
                                                  "perms": perms(request.user), "min_password": MIN_PASSWORD},
                  status=status)


@require("manage_users", ("GET", "POST"))
def users(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    name = request.POST.get("username", "").strip()
    password = request.POST.get("password", "")
    role = request.POST.get("role", "")
    if not _NAME.fullmatch(name):
        return _page(request, "User name: letters, digits and _ . @ + - only.", 400)
    if role not in ROLES:
        return _page(request, "Pick a role.", 400)
    if len(password) < MIN_PASSWORD:
        return _page(request, f"The password must have at least {MIN_PASSWORD} characters.", 400)
    if User.objects.filter(username=name).exists():
        return _page(request, "That user already exists.", 400)
    with transaction.atomic():
        u = User.objects.create_user(name, password=password)
        group, _ = Group.objects.get_or_create(name=role)
        u.groups.add(group)
        audit.record(request, "user_add", "", f"user {name} role {role}")
    return redirect("users")


@require("manage_users", ("POST",))
def user_role(request: HttpRequest, username: str) -> HttpResponse:
    role = request.POST.get("role", "")
    u = User.objects.filter(username=username).first()
    if u is None:
        return _page(request, "No such user.", 404)
    if role not in ROLES:
        return _page(request, "Pick a role.", 400)
    if u.pk == request.user.pk and role != "admin":
        return _page(request, "You cannot take the admin role from yourself.", 400)
    with transaction.atomic():
        u.groups.remove(*Group.objects.filter(name__in=ROLES))
        u.groups.add(Group.objects.get_or_create(name=role)[0])
        audit.record(request, "user_add", "", f"user {username} role set to {role}")
    return redirect("users")


@require("manage_users", ("POST",))
def user_delete(request: HttpRequest, username: str) -> HttpResponse:
    u = User.objects.filter(username=username).first()
    if u is None:
        return _page(request, "No such user.", 404)
    if u.pk == request.user.pk:
        return _page(request, "You cannot delete yourself.", 400)
    with transaction.atomic():
        u.delete()
        audit.record(request, "user_del", "", f"user {username}")
    return redirect("users")
