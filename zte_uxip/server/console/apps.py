from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The support console: views and templates over the store, and the sample rollups its charts read."""

    name = "zte_uxip.server.console"
    label = "console"
