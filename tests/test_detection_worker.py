"""Detection through the real machinery: a Celery worker on the Redis broker, and two
passes racing for the same minutes on PostgreSQL. These tests commit, so they clean up."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connections, transaction

from config.celery import app
from outages.detection_pass import detection_run
from outages.models import DetectionWatermark, Incident, ServiceStatus
from outages.tasks import detect
from outages.watermark import WATERMARK
from tests.detection_helpers import MINUTE, T0, flat_baseline, put_counts
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_beat_s_task_runs_the_pass_in_a_real_worker(chatgpt, settings, time_machine):
    if not settings.REDIS_URL:
        pytest.fail("this test needs Redis: run it with `make test`")
    flat_baseline(chatgpt, per_minute=4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=1), 60, 4)
    put_counts(chatgpt, T0, 10, 40)
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - MINUTE)
    time_machine.move_to(T0 + 6 * MINUTE + dt.timedelta(seconds=10), tick=False)
    queue = f"test-detect-{uuid.uuid4().hex[:8]}"  # no other worker on this Redis takes it

    with start_worker(app, queues=[queue], perform_ping_check=False, shutdown_timeout=5):
        detect.apply_async(queue=queue)
        assert wait_until(
            lambda: DetectionWatermark.objects.get().processed_through == T0 + 5 * MINUTE, timeout=30
        ), "the worker did not finish the pass"

    assert Incident.objects.get(service=chatgpt).status == "suspected"
    assert ServiceStatus.objects.world().get(service=chatgpt).status == "outage"


def test_a_second_pass_leaves_at_once_while_the_first_holds_the_minutes(chatgpt, on_postgres):
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - MINUTE)
    claimed, release = threading.Event(), threading.Event()

    def first_pass():
        try:
            with transaction.atomic():
                DetectionWatermark.objects.select_for_update().get(name=WATERMARK)
                claimed.set()
                release.wait(10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=first_pass)
    worker.start()
    try:
        assert claimed.wait(10)
        started = time.monotonic()
        result = detection_run(now=T0 + 5 * MINUTE)
        assert result.busy
        assert time.monotonic() - started < 2
    finally:
        release.set()
        worker.join()
    assert DetectionWatermark.objects.get().processed_through == T0 - MINUTE
