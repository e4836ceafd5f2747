"""Remote commands: one row per signed command, filled in when the device answers.

The device is named by id as text: a command's answer may arrive for a device the store has
not seen yet, and erasing a device deletes its commands by that id.
"""

from __future__ import annotations

from django.db import models

STATUSES = ("sent", "ok", "refused", "failed", "timeout")


class Command(models.Model):
    command_id = models.CharField(max_length=32, unique=True, help_text="the 16-byte id, hex")
    device_id = models.CharField(max_length=64)
    verb = models.CharField(max_length=16, blank=True)
    args = models.JSONField(default=dict)
    issued_by = models.CharField(max_length=150, blank=True)
    issued_ts = models.BigIntegerField(null=True)
    expires_ts = models.BigIntegerField(null=True)
    status = models.CharField(max_length=8, default="sent", choices=[(s, s) for s in STATUSES])
    reason = models.CharField(max_length=200, blank=True)
    result = models.JSONField(null=True)
    answered_ts = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["-issued_ts", "-id"]
        indexes = [models.Index(fields=["device_id", "issued_ts"], name="command_device_issued")]
