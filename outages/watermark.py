"""Detection watermarks: how far each pass has got, and who may run now.

The main row (`WATERMARK`) is locked for a whole pass; shards advance rows of their own
(`shard_watermark`) and hold the main row shared, and a review action locks it
exclusively, so review and detection never overwrite each other (docs/review.md). The
duration of the last pass of each row is kept in the cache for /metrics.
"""

from __future__ import annotations

from django.core.cache import cache

from outages.dialect import row_share_lock
from outages.models import DetectionWatermark

WATERMARK = "detection"
_PASS_SECONDS_KEY = "metrics:detection-pass:{}"


def shard_watermark(shard_index: int, shard_count: int) -> str:
    """Each shard advances its own watermark row; a new shard count starts new rows."""
    return f"{WATERMARK}:{shard_index}/{shard_count}"


def current_watermarks(shard_count: int) -> list[str]:
    """The rows the live pass advances with this many shards."""
    if shard_count == 1:
        return [WATERMARK]
    return [shard_watermark(i, shard_count) for i in range(shard_count)]


def watermark_lock() -> DetectionWatermark | None:
    """Lock the main row, waiting for a running pass: call inside a transaction. Every
    pass (and shard) then waits for the caller's transaction or skips its minute."""
    DetectionWatermark.objects.get_or_create(name=WATERMARK)
    return DetectionWatermark.objects.select_for_update().filter(name=WATERMARK).first()


def watermark_share(name: str) -> bool:
    """Hold the row shared without waiting: False if someone holds it exclusively."""
    DetectionWatermark.objects.get_or_create(name=name)
    return row_share_lock(DetectionWatermark._meta.db_table, "name", name)


def pass_seconds_record(*, watermark: str, seconds: float) -> None:
    """The detection tasks run in other processes and hosts than /metrics: kept in the cache."""
    cache.set(_PASS_SECONDS_KEY.format(watermark), seconds, 24 * 3600)


def pass_seconds(watermarks: list[str]) -> dict[str, float]:
    """The last recorded pass duration of each of these watermarks that has one."""
    keys = {_PASS_SECONDS_KEY.format(name): name for name in watermarks}
    return {keys[key]: value for key, value in cache.get_many(list(keys)).items()}
