from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from reports.aggregation import reports_aggregate
from reports.counts import minute_end
from reports.models import CityMinute, CountryMinute, ProblemMinute, Report, ServiceMinute
from reports.selectors import city_counts, problem_shares, report_count
from tests.helpers import BOLOGNA_IP, MILAN_IP, SYDNEY_IP, post_report

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 31, 15, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def total(model, **filters) -> int:
    return model.objects.filter(**filters).aggregate(n=Sum("count"))["n"] or 0


def test_reports_are_counted_per_service_city_country_and_problem_minute(client, frozen, chatgpt):
    post_report(client, {"service": "chatgpt", "problem": "login"}, ip=MILAN_IP)
    post_report(client, {"service": "chatgpt", "problem": "login"}, ip="93.56.1.2")
    post_report(client, {"service": "chatgpt", "problem": "app"}, ip=BOLOGNA_IP)
    post_report(client, {"service": "chatgpt", "problem": "app"}, ip=SYDNEY_IP)
    post_report(client, {"service": "chatgpt", "problem": "app"}, ip=MILAN_IP)  # repeat: not counted

    assert reports_aggregate() == 4
    minute = NOW.replace(second=0)
    assert ServiceMinute.objects.get(service=chatgpt, minute=minute).count == 4
    assert total(CityMinute, city__name_en="Milan") == 2
    assert total(CityMinute, city__name_en="Bologna") == 1
    assert total(CountryMinute, country_code="IT") == 3
    assert total(ProblemMinute, problem="login") == 2
    assert total(ProblemMinute, problem="app") == 2


def test_aggregating_again_counts_nothing_twice(client, frozen, chatgpt):
    post_report(client, {"service": "chatgpt"})
    reports_aggregate()

    assert reports_aggregate() == 0
    assert total(ServiceMinute) == 1


def test_later_batches_add_to_the_same_minute(client, frozen, chatgpt):
    post_report(client, {"service": "chatgpt"}, ip=MILAN_IP)
    reports_aggregate()
    post_report(client, {"service": "chatgpt"}, ip=BOLOGNA_IP)
    reports_aggregate()

    assert ServiceMinute.objects.get(service=chatgpt).count == 2


def test_abusive_reports_are_never_counted(client, frozen, chatgpt):
    post_report(client, {"service": "chatgpt"}, ip=MILAN_IP)
    Report.objects.update(abusive=True)

    reports_aggregate()

    assert total(ServiceMinute) == 0


def test_selectors_include_reports_not_yet_aggregated(client, frozen, chatgpt):
    post_report(client, {"service": "chatgpt", "problem": "login"}, ip=MILAN_IP)
    reports_aggregate()
    post_report(client, {"service": "chatgpt", "problem": "app"}, ip="93.56.1.2")
    post_report(client, {"service": "chatgpt", "problem": "app"}, ip=BOLOGNA_IP)
    window = {"start": NOW - dt.timedelta(hours=1), "end": minute_end(NOW)}

    assert report_count(service_id=chatgpt.pk, **window) == 3
    shares = problem_shares(service_id=chatgpt.pk, **window)
    assert [(share.code, share.count, share.percent) for share in shares] == [
        ("app", 2, 67),
        ("login", 1, 33),
    ]
    ranked = city_counts(service_id=chatgpt.pk, **window)
    assert [(row.city.name_en, row.count) for row in ranked] == [("Milan", 2), ("Bologna", 1)]


def test_a_killed_aggregation_leaves_the_reports_pending(client, frozen, chatgpt, monkeypatch):
    post_report(client, {"service": "chatgpt"})
    from reports import dialect

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patched:
        patched.setattr(dialect, "counts_increment", crash)
        with pytest.raises(RuntimeError):
            reports_aggregate()

    assert Report.objects.filter(is_aggregated=False).count() == 1
    assert reports_aggregate() == 1
    assert total(ServiceMinute) == 1
