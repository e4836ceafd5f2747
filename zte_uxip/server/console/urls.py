"""Console routes (DESIGN.md "Server"): /login/, /devices/, /devices/{id}/, /audit/, /users/."""

from pathlib import Path

from django.contrib.auth import views as auth_views
from django.urls import path, re_path
from django.views.static import serve

from . import users, views

STATIC_DIR = Path(__file__).resolve().parent / "static" / "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
    path("devices/", views.devices, name="devices"),
    path("devices/<str:device_id>/", views.device, name="device"),
    path("devices/<str:device_id>/export/", views.export, name="export"),
    path("devices/<str:device_id>/erase/", views.erase, name="erase"),
    path("devices/<str:device_id>/command/", views.command, name="command"),
    path("audit/", views.audit_log, name="audit"),
    path("users/", users.users, name="users"),
    path("users/<str:username>/role/", users.user_role, name="user_role"),
    path("users/<str:username>/delete/", users.user_delete, name="user_delete"),
    # One stylesheet, served by the console itself: nothing is fetched from elsewhere.
    re_path(r"^static/(?P<path>console\.css)$", serve, {"document_root": str(STATIC_DIR)}),
]
