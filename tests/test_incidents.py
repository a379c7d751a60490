"""The incident lifecycle the detection pass drives: open, extend, resolve, re-open."""

from __future__ import annotations

import datetime as dt

import pytest

from catalogue.models import Service
from outages.detection_pass import detection_run_range
from outages.models import RESOLVE_QUIET_MINUTES, Incident, IncidentCity, ServiceStatus
from tests.detection_helpers import MINUTE, T0, city, flat_baseline, put_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet_chatgpt(chatgpt):
    """ChatGPT at its usual 4 reports a minute for the two hours before T0."""
    flat_baseline(chatgpt, per_minute=4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=2), 120, 4)
    return chatgpt


def test_a_quiet_service_opens_nothing_and_reads_ok(quiet_chatgpt):
    put_counts(quiet_chatgpt, T0, 30, 4)

    detection_run_range(start=T0 - dt.timedelta(minutes=60), end=T0 + 29 * MINUTE)

    assert not Incident.objects.exists()
    status = ServiceStatus.objects.world().get(service=quiet_chatgpt)
    assert (status.status, status.score, status.count) == ("ok", 0.0, 60)
    assert status.baseline == pytest.approx(60)


def test_a_spike_opens_one_suspected_incident_and_shows_an_outage(quiet_chatgpt):
    put_counts(quiet_chatgpt, T0, 10, 40)

    detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 9 * MINUTE)

    incident = Incident.objects.get()
    assert incident.status == "suspected"
    assert T0 <= incident.started_at <= T0 + 2 * MINUTE
    assert incident.last_spike_at == T0 + 9 * MINUTE
    assert incident.resolved_at is None
    assert (incident.peak_count, incident.peak_at) == (400, T0)
    assert incident.problems == [{"code": "login", "count": 40 * (10 - (incident.started_at - T0) // MINUTE)}]
    status = ServiceStatus.objects.world().get(service=quiet_chatgpt)
    assert status.status == "outage"
    assert status.count == 10 * 40  # the quarter-hour from T0 (12:00) up to T0+9


def test_the_incident_resolves_after_a_quiet_spell_back_at_baseline(quiet_chatgpt):
    put_counts(quiet_chatgpt, T0, 10, 40)
    put_counts(quiet_chatgpt, T0 + 10 * MINUTE, 90, 4)

    detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 99 * MINUTE)

    incident = Incident.objects.get()
    assert (incident.status, incident.ongoing) == ("suspected", False)
    assert incident.resolved_at == incident.last_elevated_at + MINUTE
    assert incident.resolved_at - incident.last_spike_at < dt.timedelta(minutes=RESOLVE_QUIET_MINUTES)
    assert ServiceStatus.objects.world().get(service=quiet_chatgpt).status == "ok"


def test_a_new_spike_soon_after_resolution_reopens_the_same_incident(quiet_chatgpt):
    put_counts(quiet_chatgpt, T0, 10, 40)
    put_counts(quiet_chatgpt, T0 + 10 * MINUTE, 50, 4)
    put_counts(quiet_chatgpt, T0 + 60 * MINUTE, 10, 40)
    detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 55 * MINUTE)
    assert not Incident.objects.get().ongoing

    detection_run_range(start=T0 + 56 * MINUTE, end=T0 + 69 * MINUTE)

    incident = Incident.objects.get()
    assert incident.status == "suspected"
    assert incident.resolved_at is None
    assert incident.last_spike_at == T0 + 69 * MINUTE


def test_a_spike_long_after_resolution_opens_a_new_incident(quiet_chatgpt):
    put_counts(quiet_chatgpt, T0, 10, 40)
    put_counts(quiet_chatgpt, T0 + 10 * MINUTE, 170, 4)
    put_counts(quiet_chatgpt, T0 + 180 * MINUTE, 10, 40)

    detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 189 * MINUTE)

    assert [(incident.status, incident.ongoing) for incident in Incident.objects.order_by("started_at")] == [
        ("suspected", False),
        ("suspected", True),
    ]


def test_a_dismissed_incident_absorbs_its_own_continuing_spike(quiet_chatgpt):
    put_counts(quiet_chatgpt, T0, 30, 40)
    detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 5 * MINUTE)
    Incident.objects.update(status=Incident.Status.DISMISSED)

    detection_run_range(start=T0 + 6 * MINUTE, end=T0 + 29 * MINUTE)

    incident = Incident.objects.get()
    assert incident.status == "dismissed"
    assert incident.last_spike_at == T0 + 29 * MINUTE


def test_a_regional_outage_opens_an_incident_though_the_national_total_barely_moves(chatgpt):
    milan, rome = city("Milan", name_it="Milano"), city("Rome", name_it="Roma")
    bologna = city("Bologna")
    flat_baseline(chatgpt, per_minute=20)
    for place, rate in ((milan, 10), (rome, 9), (bologna, 1)):
        flat_baseline(chatgpt, per_minute=rate, city=place)
    start = T0 - dt.timedelta(hours=2)
    put_counts(chatgpt, start, 120, 20)
    for place, rate in ((milan, 10), (rome, 9), (bologna, 1)):
        put_counts(chatgpt, start, 120, rate, city=place)
    # Bologna goes from 1 to 6 a minute: the country sees 25 instead of 20 (1.25x).
    put_counts(chatgpt, T0, 20, 25)
    put_counts(chatgpt, T0, 20, 10, city=milan)
    put_counts(chatgpt, T0, 20, 9, city=rome)
    put_counts(chatgpt, T0, 20, 6, city=bologna)

    detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 19 * MINUTE)

    incident = Incident.objects.get()
    assert incident.max_score < 3  # the national series alone says nothing
    assert [c.city_id for c in IncidentCity.objects.filter(incident=incident)] == [bologna.pk]
    assert ServiceStatus.objects.world().get(service=chatgpt).status == "warning"


def test_cities_of_a_national_outage_are_named_at_once_and_ranked_by_reports_above_their_usual(chatgpt):
    milan, rome, naples = city("Milan"), city("Rome"), city("Naples")
    flat_baseline(chatgpt, per_minute=10)
    rates = ((milan, 5), (rome, 3), (naples, 2))
    for place, rate in rates:
        flat_baseline(chatgpt, per_minute=rate, city=place)
        put_counts(chatgpt, T0 - dt.timedelta(hours=2), 120, rate, city=place)
    put_counts(chatgpt, T0 - dt.timedelta(hours=2), 120, 10)
    put_counts(chatgpt, T0, 20, 10 * 5 + 3 * 12 + 2 * 3)
    for place, rate in ((milan, 50), (rome, 36), (naples, 6)):
        put_counts(chatgpt, T0, 20, rate, city=place)

    # Naples, at 3x, carries the national spike from the incident's first minute, though its
    # own score needs a quarter-hour to clear a city's bar.
    detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 5 * MINUTE)

    incident = Incident.objects.get()
    # Milan 45 a minute above its usual, Rome 33, Naples 4: where the extra people are.
    assert [row.city_id for row in incident.affected_cities()] == [milan.pk, rome.pk, naples.pk]


def test_a_regional_outage_names_all_its_cities_from_its_first_minute(db):
    """Iliad's Sicily and Calabria outage: Palermo, and the smaller cities around it too."""
    iliad = Service.objects.get(slug="iliad")
    milan, rome = city("Milan"), city("Rome")
    palermo, catania = city("Palermo", lat=38.1, lon=13.4), city("Catania", lat=37.5, lon=15.1)
    messina, reggio = city("Messina", lat=38.2, lon=15.6), city("Reggio Calabria", lat=38.1, lon=15.6)
    flat_baseline(iliad, per_minute=20)
    usual = ((milan, 8), (rome, 6), (palermo, 1), (catania, 1))  # Messina and Reggio: no profile yet
    for place, rate in usual:
        flat_baseline(iliad, per_minute=rate, city=place)
        put_counts(iliad, T0 - dt.timedelta(hours=2), 120, rate, city=place)
    put_counts(iliad, T0 - dt.timedelta(hours=2), 120, 20)
    outage = ((milan, 8), (rome, 6), (palermo, 14), (catania, 6), (messina, 2), (reggio, 2))
    put_counts(iliad, T0, 30, 20 + 13 + 6 + 2 + 2)
    for place, rate in outage:
        put_counts(iliad, T0, 30, rate, city=place)

    opened = None
    for minute in range(-30, 30):
        detection_run_range(start=T0 + minute * MINUTE, end=T0 + minute * MINUTE)
        if opened is None and Incident.objects.exists():
            opened = minute
            named = {row.city.name_en for row in Incident.objects.get().affected_cities()}
            assert named == {"Palermo", "Catania", "Messina", "Reggio Calabria"}, minute
    assert opened is not None and opened <= 5

    incident = Incident.objects.get()
    ranked = [row.city.name_en for row in incident.affected_cities()]
    # By reports above their usual: Palermo 13 a minute, Catania 5, Messina and Reggio 2 each
    # (the same count: the lower id first); Milan and Rome, at their usual, not at all.
    assert ranked == ["Palermo", "Catania", "Messina", "Reggio Calabria"]


def test_the_status_does_not_flap_minute_to_minute_during_a_steady_event(quiet_chatgpt):
    # Forty minutes of waves: 4 minutes at 30 reports, 4 back at the usual 4, as an outage's
    # reports come in. Each minute is its own live pass, as the beat runs it.
    for wave in range(5):
        put_counts(quiet_chatgpt, T0 + 8 * wave * MINUTE, 4, 30)
        put_counts(quiet_chatgpt, T0 + (8 * wave + 4) * MINUTE, 4, 4)
    put_counts(quiet_chatgpt, T0 + 40 * MINUTE, 30, 4)

    seen = []
    for minute in range(-5, 60):
        at = T0 + minute * MINUTE
        detection_run_range(start=at, end=at)
        seen.append(ServiceStatus.objects.world().get(service=quiet_chatgpt).evidence)

    first_outage = seen.index("outage")
    last_outage = len(seen) - 1 - seen[::-1].index("outage")
    assert set(seen[first_outage : last_outage + 1]) == {"outage"}  # no flapping inside
    assert seen[-1] == "ok"  # and it does come down once the waves are over
    assert Incident.objects.count() == 1
