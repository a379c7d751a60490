"""The detection pass split into shards by service: same result as one pass, each shard
idempotent under its own watermark, and review's lock still keeps every shard out."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connections, transaction

from catalogue.models import Service
from config.celery import app
from outages.detection_pass import detection_run
from outages.models import DetectionWatermark, Incident, ServiceStatus
from outages.tasks import detect, detect_shard, shard_service_ids
from outages.watermark import WATERMARK, shard_watermark
from tests.detection_helpers import MINUTE, T0, flat_baseline, incident_summary, put_counts
from tests.helpers import wait_until

LIVE = T0 + 6 * MINUTE + dt.timedelta(seconds=10)


@pytest.fixture
def two_outages(chatgpt):
    """Two services with the same outage from T0, one in each of two shards."""
    other = Service.objects.active().exclude(pk=chatgpt.pk).filter(pk__gt=chatgpt.pk).first()
    if other.pk % 2 == chatgpt.pk % 2:
        other = Service.objects.active().get(pk=chatgpt.pk + 1)
    for service in (chatgpt, other):
        flat_baseline(service, per_minute=4)
        put_counts(service, T0 - dt.timedelta(hours=1), 60, 4)
        put_counts(service, T0, 10, 40)
    return chatgpt, other


def _route(*, routes: dict) -> None:
    """Send the pass's tasks to a queue no other worker on this Redis takes."""
    app.conf.task_routes = routes
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # a cached_property built from the old routes


def _watermarks(at: dt.datetime, *names: str) -> None:
    for name in names:
        DetectionWatermark.objects.update_or_create(name=name, defaults={"processed_through": at})


@pytest.mark.django_db
def test_every_active_service_is_in_exactly_one_shard():
    active = set(Service.objects.active().values_list("pk", flat=True))
    shards = [shard_service_ids(i, 3) for i in range(3)]

    assert sorted(pk for shard in shards for pk in shard) == sorted(active)
    assert all(pk % 3 == i for i, shard in enumerate(shards) for pk in shard)


@pytest.mark.django_db
def test_two_shards_decide_what_one_pass_decides(two_outages, time_machine):
    time_machine.move_to(LIVE, tick=False)
    _watermarks(T0 - MINUTE, WATERMARK)
    detection_run(now=LIVE)
    single = [incident_summary(service) for service in two_outages]
    statuses = dict(ServiceStatus.objects.world().values_list("service_id", "status"))
    assert all(summary for summary in single)  # both outages found
    Incident.objects.all().delete()
    ServiceStatus.objects.all().delete()
    _watermarks(T0 - MINUTE, shard_watermark(0, 2), shard_watermark(1, 2))

    results = [detect_shard(shard_index=i, shard_count=2) for i in range(2)]

    assert [r["services"] for r in results] == [1, 1]  # each shard saw only its own service
    assert [incident_summary(service) for service in two_outages] == single
    assert dict(ServiceStatus.objects.world().values_list("service_id", "status")) == statuses
    for i in range(2):
        assert DetectionWatermark.objects.get(name=shard_watermark(i, 2)).processed_through == T0 + 5 * MINUTE


@pytest.mark.django_db
def test_a_shard_run_twice_for_the_same_minute_changes_nothing(two_outages, time_machine):
    time_machine.move_to(LIVE, tick=False)
    _watermarks(T0 - MINUTE, shard_watermark(0, 2), shard_watermark(1, 2))
    detect_shard(shard_index=0, shard_count=2)
    before = [incident_summary(service) for service in two_outages]

    again = detect_shard(shard_index=0, shard_count=2)

    assert again["minutes"] == 0
    assert [incident_summary(service) for service in two_outages] == before


@pytest.mark.django_db
def test_a_shard_that_does_not_exist_is_refused():
    with pytest.raises(ValueError):
        detect_shard(shard_index=2, shard_count=2)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_shard_skips_its_minute_while_review_holds_the_detection_lock(two_outages, on_postgres):
    _watermarks(T0 - MINUTE, WATERMARK, shard_watermark(0, 2))
    claimed, release = threading.Event(), threading.Event()

    def review_action():
        try:
            with transaction.atomic():
                DetectionWatermark.objects.select_for_update().get(name=WATERMARK)
                claimed.set()
                release.wait(10)
        finally:
            connections.close_all()

    reviewer = threading.Thread(target=review_action)
    reviewer.start()
    try:
        assert claimed.wait(10)
        result = detection_run(now=LIVE, service_ids=shard_service_ids(0, 2), watermark=shard_watermark(0, 2))
        assert result.busy
    finally:
        release.set()
        reviewer.join()
    assert DetectionWatermark.objects.get(name=shard_watermark(0, 2)).processed_through == T0 - MINUTE
    assert not Incident.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_beat_s_task_fans_out_to_shards_run_side_by_side_by_a_real_worker(
    two_outages, settings, time_machine
):
    if not settings.REDIS_URL:
        pytest.fail("this test needs Redis: run it with `make test`")
    settings.DETECTION_SHARDS = 2
    _watermarks(T0 - MINUTE, shard_watermark(0, 2), shard_watermark(1, 2))
    time_machine.move_to(LIVE, tick=False)
    queue = f"test-shards-{uuid.uuid4().hex[:8]}"  # no other worker on this Redis takes it
    routes = app.conf.task_routes
    _route(routes={"outages.tasks.*": {"queue": queue}})
    try:
        with start_worker(
            app, queues=[queue], concurrency=2, pool="threads", perform_ping_check=False, shutdown_timeout=5
        ):
            detect.apply_async(queue=queue)
            assert wait_until(
                lambda: (
                    {
                        m.processed_through
                        for m in DetectionWatermark.objects.filter(name__startswith=f"{WATERMARK}:")
                    }
                    == {T0 + 5 * MINUTE}
                ),
                timeout=30,
            ), "the shards did not finish their passes"
    finally:
        _route(routes=routes)

    for i in range(2):
        assert DetectionWatermark.objects.get(name=shard_watermark(i, 2)).processed_through == T0 + 5 * MINUTE
    assert Incident.objects.filter(service__in=two_outages).count() == 2
