"""The store: what support asks of a device, not only blobs.

Times are unix seconds in ``BigIntegerField``s named ``*_ts`` (or ``ts``, as on the wire): the
devices send unix seconds, charts bucket them with integer arithmetic on both databases, and
there is no timezone to get wrong. A device's data hangs off :class:`Device` with cascading
foreign keys, so erasing a device is one delete; what must outlive an erasure (the tombstone,
the audit trail) names the device by its id as text instead.
"""

from __future__ import annotations

from django.db import models

STATES = ("online", "offline", "consent_withdrawn")


class Device(models.Model):
    device_id = models.CharField(max_length=64, unique=True)
    region = models.CharField(max_length=32)
    state = models.CharField(max_length=20, default="online", choices=[(s, s) for s in STATES])
    state_ts = models.BigIntegerField(null=True, help_text="unix s of the last status message")
    first_seen_ts = models.BigIntegerField(help_text="unix s the server first received from it")
    last_seen_ts = models.BigIntegerField(help_text="unix s the server last received from it")
    last_sample_ts = models.BigIntegerField(null=True, help_text="unix s of its newest snapshot")
    last_seq = models.BigIntegerField(null=True)
    batches_total = models.BigIntegerField(default=0)
    dropped_total = models.BigIntegerField(default=0, help_text="records its spool had to drop (last report)")
    policy_version = models.CharField(max_length=64, blank=True)
    location_enabled = models.BooleanField(default=True)
    manufacturer = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=64, blank=True)
    hw_type = models.CharField(max_length=64, blank=True)
    sw_version = models.CharField(max_length=64, blank=True)
    agent_version = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["device_id"]

    def __str__(self) -> str:
        return self.device_id


class Batch(models.Model):
    """One telemetry message, stored once per (device, seq); the CBOR kept for the owner's copy."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="batches")
    seq = models.BigIntegerField()
    received_ts = models.BigIntegerField()
    sampled_ts = models.BigIntegerField(help_text="unix s of its oldest snapshot; retention ages on this")
    snapshots = models.PositiveIntegerField(default=0)
    consent_enabled = models.BooleanField(default=True)
    consent_location = models.BooleanField(default=True)
    policy_version = models.CharField(max_length=64, blank=True)
    dropped_total = models.BigIntegerField(default=0)
    region = models.CharField(max_length=32)
    cbor = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="batch_once_per_device_seq")]
        indexes = [
            models.Index(fields=["sampled_ts"], name="batch_sampled"),
            models.Index(fields=["device", "sampled_ts"], name="batch_device_sampled"),
        ]


class Sample(models.Model):
    """One snapshot's facts, for timelines and charts. Unknown values are NULL, never invented."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="samples")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="samples")
    ts = models.BigIntegerField()
    uptime_s = models.BigIntegerField(null=True)
    # system
    cpu_pct = models.FloatField(null=True)
    mem_used_pct = models.FloatField(null=True)
    load1 = models.FloatField(null=True)
    # WAN
    wan_iface = models.CharField(max_length=32, blank=True)
    wan_up = models.BooleanField(null=True)
    disconnects_total = models.BigIntegerField(null=True)
    rx_bps = models.BigIntegerField(null=True, help_text="WAN receive rate at the sample")
    tx_bps = models.BigIntegerField(null=True)
    rx_bps_peak = models.BigIntegerField(null=True, help_text="WAN peak receive rate in the report")
    tx_bps_peak = models.BigIntegerField(null=True)
    usage_cycle_bytes = models.BigIntegerField(null=True)
    # cellular
    rat = models.CharField(max_length=16, blank=True)
    plmn = models.CharField(max_length=8, blank=True)
    registration = models.CharField(max_length=24, blank=True)
    roaming = models.BooleanField(null=True)
    attached = models.BooleanField(null=True)
    rssi_dbm = models.IntegerField(null=True)
    rsrp_dbm = models.IntegerField(null=True)
    rsrq_db = models.FloatField(null=True)
    sinr_db = models.FloatField(null=True)
    # location class: own columns, NULL when the owner withdrew `location`
    cell_id = models.BigIntegerField(null=True)
    tac = models.IntegerField(null=True)
    # Wi-Fi
    wifi_clients = models.IntegerField(null=True, help_text="clients over all radios")
    wifi_clients_by_radio = models.JSONField(null=True, help_text='{"wlan0": 3, ...}')

    class Meta:
        indexes = [models.Index(fields=["device", "ts"], name="sample_device_ts")]


class Event(models.Model):
    """An event as the device reported it: `wan_down` with cause, duration and the field data."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    ts = models.BigIntegerField()
    duration_s = models.BigIntegerField(null=True)
    cause = models.CharField(max_length=32, blank=True)
    fields = models.JSONField(default=dict, help_text="the event's other fields, as decoded")
    snapshot = models.JSONField(null=True, help_text="the field data at the event, as decoded")

    class Meta:
        indexes = [
            models.Index(fields=["device", "ts"], name="event_device_ts"),
            models.Index(fields=["device", "kind", "ts"], name="event_device_kind_ts"),
        ]


class Tombstone(models.Model):
    """All that is left of a device whose owner withdrew consent."""

    device_id = models.CharField(max_length=64, unique=True)
    withdrawn_ts = models.BigIntegerField()
    policy_version = models.CharField(max_length=64, blank=True)
    region = models.CharField(max_length=32)


class AuditEntry(models.Model):
    """Who looked at, exported, erased or queried which device's data; when, and from where."""

    ACTIONS = (
        "view", "diagnose", "export", "erase", "withdrawn", "retention", "command",
        "user_add", "user_del", "audit_view",
    )
    ts = models.BigIntegerField()
    username = models.CharField(max_length=150, help_text="'system' for ingest and retention")
    action = models.CharField(max_length=16, choices=[(a, a) for a in ACTIONS])
    device_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    remote_addr = models.CharField(max_length=64, blank=True, help_text="client address, or 'cli'")

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [
            models.Index(fields=["device_id", "ts"], name="audit_device_ts"),
            models.Index(fields=["ts"], name="audit_ts"),
        ]
