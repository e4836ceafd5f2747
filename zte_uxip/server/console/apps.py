from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The support console: views and templates over the store; no models of its own."""

    name = "zte_uxip.server.console"
    label = "console"
