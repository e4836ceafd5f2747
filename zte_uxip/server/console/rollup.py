"""Keep the five-minute rollups current, and read coarser buckets from them.

``update(device)`` rolls up the samples stored since its last run (tracked by sample id, so a
batch that arrives late, after an outage, is rolled into its old buckets too): the buckets those
samples touch are recomputed from the raw samples. Ingest should call it after each batch (a
few buckets, milliseconds); the console and `diagnose` call it before they read, so they are
correct even when ingest did not. ``buckets(...)`` re-aggregates rollups in SQL (integer
division of ``bucket_ts``): exact averages from sums and counts, minima and maxima.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Max, Min, Q, Sum, Value

from ..store.models import Device, Sample
from .models import RollupMark, SampleRollup

BUCKET_S = 300
NO_SERVICE = ("not_registered", "searching")


def _bucket_expr(field: str, size: int) -> ExpressionWrapper:
    return ExpressionWrapper(F(field) / Value(size), output_field=IntegerField())


# Wi-Fi clients per radio: the JSON map's keys are the device's radio names, so the maximum per
# bucket and radio needs the database's JSON table function (json_each / jsonb_each); only
# integer values count, and a value that is not a map counts as an empty one.
_RADIO_SQL = {
    "sqlite": (
        "SELECT s.ts / {b}, j.key, MAX(j.value) FROM {t} s, "
        "json_each(CASE WHEN json_type(s.wifi_clients_by_radio) = 'object' THEN s.wifi_clients_by_radio "
        "ELSE '{{}}' END) j WHERE s.device_id = %s AND s.ts >= %s AND s.ts < %s "
        "AND s.wifi_clients_by_radio IS NOT NULL AND j.type = 'integer' GROUP BY 1, 2"
    ),
    "postgresql": (
        "SELECT s.ts / {b}, j.key, MAX((j.value #>> '{{}}')::numeric) FROM {t} s CROSS JOIN LATERAL "
        "jsonb_each(CASE WHEN jsonb_typeof(s.wifi_clients_by_radio) = 'object' THEN s.wifi_clients_by_radio "
        "ELSE '{{}}'::jsonb END) j WHERE s.device_id = %s AND s.ts >= %s AND s.ts < %s "
        "AND s.wifi_clients_by_radio IS NOT NULL AND jsonb_typeof(j.value) = 'number' "
        "AND (j.value #>> '{{}}') ~ '^[0-9]{{1,9}}$' GROUP BY 1, 2"
    ),
}


def _radio_max(device: Device, lo_ts: int, hi_ts: int) -> dict[int, dict[str, int]]:
    sql = _RADIO_SQL[connection.vendor].format(b=BUCKET_S, t=Sample._meta.db_table)
    out: dict[int, dict[str, int]] = {}
    with connection.cursor() as cur:
        cur.execute(sql, [device.pk, lo_ts, hi_ts])
        for b, name, n in cur.fetchall():
            if isinstance(name, str) and n is not None:
                cur_b = out.setdefault(int(b), {})
                cur_b[name[:32]] = max(int(n), cur_b.get(name[:32], 0))
    return out


def _recompute(device: Device, lo_ts: int, hi_ts: int) -> int:
    lo, hi = lo_ts // BUCKET_S, hi_ts // BUCKET_S
    span = Sample.objects.filter(device=device, ts__gte=lo * BUCKET_S, ts__lt=(hi + 1) * BUCKET_S)
    rows = (
        span.annotate(b=_bucket_expr("ts", BUCKET_S)).values("b")
        .annotate(
            n=Count("id"),
            rsrp_sum=Sum("rsrp_dbm"), rsrp_n=Count("rsrp_dbm"), rsrp_min=Min("rsrp_dbm"),
            sinr_sum=Sum("sinr_db"), sinr_n=Count("sinr_db"), sinr_min=Min("sinr_db"),
            rx_sum=Sum("rx_bps"), rx_n=Count("rx_bps"), tx_sum=Sum("tx_bps"), tx_n=Count("tx_bps"),
            up_n=Count("id", filter=Q(wan_up=True)), updown_n=Count("wan_up"),
            cpu_sum=Sum("cpu_pct"), cpu_n=Count("cpu_pct"), mem_sum=Sum("mem_used_pct"), mem_n=Count("mem_used_pct"),
            clients_max=Max("wifi_clients"),
            denied_n=Count("id", filter=Q(registration="denied")),
            no_service_n=Count("id", filter=Q(registration__in=NO_SERVICE)),
            roaming_n=Count("id", filter=Q(roaming=True)),
            detached_n=Count("id", filter=Q(attached=False)),
            first_ts=Min("ts"), last_ts=Max("ts"),
        )
    )
    radios = _radio_max(device, lo * BUCKET_S, (hi + 1) * BUCKET_S)
    objs = []
    for r in rows:
        b = r.pop("b")
        for k in ("rsrp_sum", "sinr_sum", "rx_sum", "tx_sum", "cpu_sum", "mem_sum"):
            r[k] = float(r[k] or 0)
        objs.append(SampleRollup(device=device, bucket_ts=b * BUCKET_S, clients_by_radio=radios.get(b), **r))
    with transaction.atomic():
        SampleRollup.objects.filter(device=device, bucket_ts__gte=lo * BUCKET_S, bucket_ts__lte=hi * BUCKET_S).delete()
        SampleRollup.objects.bulk_create(objs, batch_size=2000)
    return len(objs)


def update(device: Device) -> int:
    """Roll up what is new since the last run; returns the buckets rewritten."""
    mark, _ = RollupMark.objects.get_or_create(device=device)
    new = Sample.objects.filter(device=device, id__gt=mark.sample_id).aggregate(
        hi_id=Max("id"), lo_ts=Min("ts"), hi_ts=Max("ts"))
    if new["hi_id"] is None:
        return 0
    try:
        count = _recompute(device, new["lo_ts"], new["hi_ts"])
    except IntegrityError:  # another console worker rolled the same buckets up at the same moment
        return 0
    RollupMark.objects.filter(pk=mark.pk, sample_id__lt=new["hi_id"]).update(sample_id=new["hi_id"])
    return count


def _avg(s: Any, n: Any) -> float | None:
    return float(s) / n if n else None


def buckets(device: Device, start: int, end: int, size: int, radios: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Rollups re-aggregated into ``size``-second buckets over [start, end), in time order."""
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast

    per_radio = {f"r{i}": Max(Cast(KT(f"clients_by_radio__{name}"), IntegerField())) for i, name in enumerate(radios)}
    qs = (
        SampleRollup.objects.filter(device=device, bucket_ts__gte=start, bucket_ts__lt=end)
        .annotate(b=_bucket_expr("bucket_ts", size)).values("b")
        .annotate(
            n=Sum("n"), rsrp_s=Sum("rsrp_sum"), rsrp_c=Sum("rsrp_n"), rsrp_min=Min("rsrp_min"),
            sinr_s=Sum("sinr_sum"), sinr_c=Sum("sinr_n"), sinr_min=Min("sinr_min"),
            rx_s=Sum("rx_sum"), rx_c=Sum("rx_n"), tx_s=Sum("tx_sum"), tx_c=Sum("tx_n"),
            up_s=Sum("up_n"), up_c=Sum("updown_n"), cpu_s=Sum("cpu_sum"), cpu_c=Sum("cpu_n"),
            mem_s=Sum("mem_sum"), mem_c=Sum("mem_n"), clients=Max("clients_max"),
            denied=Sum("denied_n"), no_service=Sum("no_service_n"), roaming=Sum("roaming_n"),
            detached=Sum("detached_n"), first=Min("first_ts"), last=Max("last_ts"),
            **per_radio,
        )
        .order_by("b")
    )
    out = []
    for r in qs:
        out.append({
            "b": r["b"], "t": r["b"] * size + size // 2, "n": r["n"],
            "rsrp": _avg(r["rsrp_s"], r["rsrp_c"]), "rsrp_min": r["rsrp_min"],
            "sinr": _avg(r["sinr_s"], r["sinr_c"]), "sinr_min": r["sinr_min"],
            "rx": _avg(r["rx_s"], r["rx_c"]), "tx": _avg(r["tx_s"], r["tx_c"]),
            "up": _avg(r["up_s"], r["up_c"]), "cpu": _avg(r["cpu_s"], r["cpu_c"]), "mem": _avg(r["mem_s"], r["mem_c"]),
            "clients": r["clients"], "denied": r["denied"], "no_service": r["no_service"],
            "roaming": r["roaming"], "detached": r["detached"], "first": r["first"], "last": r["last"],
            **{f"r{i}": r[f"r{i}"] for i in range(len(radios))},
        })
    return out


def radios_of(device: Device, limit: int) -> list[str]:
    """Radio names from the newest rollup that has any (device text: the caller checks them)."""
    latest = (SampleRollup.objects.filter(device=device, clients_by_radio__isnull=False)
              .order_by("-bucket_ts").values_list("clients_by_radio", flat=True).first())
    if not isinstance(latest, dict):
        return []
    return sorted(k for k in latest if isinstance(k, str))[: limit * 4]
