from django.apps import AppConfig


class StoreConfig(AppConfig):
    """What devices sent: devices, batches, per-snapshot facts, events, tombstones, the audit trail."""

    name = "zte_uxip.server.store"
    label = "store"
    default_auto_field = "django.db.models.BigAutoField"
