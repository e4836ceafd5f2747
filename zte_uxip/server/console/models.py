"""Five-minute rollups of a device's samples: what the charts and the diagnosis read.

A month of one-minute reports is a quarter of a million sample rows; aggregating them on every
page view costs about a second on SQLite. A rollup row keeps, per device and five-minute
bucket, sums, counts, minima and maxima, so any coarser bucket (30 min, 2 h, 1 h) is an exact
re-aggregation of a few thousand rows. Rows hang off Device (CASCADE): erasing a device erases
its rollups; the retention sweep ages them out with the samples (``RETENTION_TS``).
"""

from __future__ import annotations

from django.db import models

from ..store.models import Device


class SampleRollup(models.Model):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="rollups")
    bucket_ts = models.BigIntegerField(help_text="unix s, start of the 300-s bucket")
    n = models.IntegerField(default=0)
    rsrp_sum = models.FloatField(default=0)
    rsrp_n = models.IntegerField(default=0)
    rsrp_min = models.IntegerField(null=True)
    sinr_sum = models.FloatField(default=0)
    sinr_n = models.IntegerField(default=0)
    sinr_min = models.FloatField(null=True)
    rx_sum = models.FloatField(default=0)
    rx_n = models.IntegerField(default=0)
    tx_sum = models.FloatField(default=0)
    tx_n = models.IntegerField(default=0)
    up_n = models.IntegerField(default=0, help_text="samples with the WAN up")
    updown_n = models.IntegerField(default=0, help_text="samples that know the WAN state")
    cpu_sum = models.FloatField(default=0)
    cpu_n = models.IntegerField(default=0)
    mem_sum = models.FloatField(default=0)
    mem_n = models.IntegerField(default=0)
    clients_max = models.IntegerField(null=True)
    clients_by_radio = models.JSONField(null=True, help_text='max per radio: {"wlan0": 3}')
    denied_n = models.IntegerField(default=0)
    no_service_n = models.IntegerField(default=0)
    roaming_n = models.IntegerField(default=0)
    detached_n = models.IntegerField(default=0)
    first_ts = models.BigIntegerField()
    last_ts = models.BigIntegerField()

    RETENTION_TS = "bucket_ts"  # store.retention.sweep ages rollups out with the samples they sum

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "bucket_ts"], name="rollup_once_per_bucket")]


class RollupMark(models.Model):
    """How far a device's samples are rolled up (by sample id, so late batches are caught too)."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="rollup_mark")
    sample_id = models.BigIntegerField(default=0)
