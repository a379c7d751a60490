"""One doubling rule for every outbound retry: the outbox's deliveries and the official
status poller (outages.outbound.retry_after)."""

from __future__ import annotations

from outages.outbound import retry_after


def test_the_wait_doubles_after_each_failure_and_stops_at_the_cap():
    assert [retry_after(30, failures, 600) for failures in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


def test_a_first_failure_waits_the_first_interval_and_a_huge_count_does_not_overflow():
    assert retry_after(60, 1, 3600) == 60
    assert retry_after(60, 10_000, 3600) == 3600


def test_jitter_adds_at_most_its_share_and_never_shortens_the_wait():
    waits = [retry_after(30, 2, 600, jitter=0.25) for _ in range(200)]
    assert all(60 <= wait <= 75 for wait in waits)
    assert len(set(waits)) > 1
