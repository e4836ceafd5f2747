from django.apps import AppConfig


class CommandsConfig(AppConfig):
    """Signed remote diagnostics: what support asked a device, and what it answered."""

    name = "zte_uxip.server.commands"
    label = "commands"
    default_auto_field = "django.db.models.BigAutoField"
