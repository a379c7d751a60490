"""Users and incidents for the review tests."""

from __future__ import annotations

import datetime as dt
import functools

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from catalogue.models import Service
from outages.models import REVIEWER_GROUP, Incident, IncidentCity
from tests.detection_helpers import T0


def reviewer_user(username: str = "reviewer") -> User:
    user = _user_with_password(username, f"{username}@example.org", "pw-reviewer-1")
    user.groups.add(Group.objects.get(name=REVIEWER_GROUP))
    return user


def plain_staff_user() -> User:
    return _user_with_password("plain_staff", "staff@example.org", "pw-staff-1", is_staff=True)


def _user_with_password(username: str, email: str, password: str, **fields) -> User:
    """create_user, with the password hashed once per process: the production hasher takes
    about 0.3 s a hash, and most tests never log in with the password. Logging in still
    checks it with that hasher."""
    user = User.objects.create_user(username, email, None, **fields)
    user.password = _password_hash(password)
    user.save(update_fields=["password"])
    return user


@functools.cache
def _password_hash(password: str) -> str:
    return make_password(password)


def incident(
    service: Service,
    *,
    started_at: dt.datetime = T0,
    minutes: int = 20,
    status: str = Incident.Status.SUSPECTED,
    resolved: bool = True,
    peak_count: int = 100,
    excess: float = 200.0,
    max_score: float = 8.0,
    problems: list[dict] | None = None,
    cities: dict | None = None,
) -> Incident:
    """An incident as detection would leave it, without running detection."""
    last = started_at + dt.timedelta(minutes=minutes - 1)
    created = Incident.objects.create(
        service=service,
        status=status,
        started_at=started_at,
        last_spike_at=last,
        last_elevated_at=last,
        resolved_at=last + dt.timedelta(minutes=1) if resolved else None,
        peak_count=peak_count,
        peak_at=started_at,
        max_score=max_score,
        excess_reports=excess,
        problems=problems if problems is not None else [{"code": "login", "count": 150}],
    )
    for city, (count, excess_city) in (cities or {}).items():
        IncidentCity.objects.create(
            incident=created, city=city, count=count, excess=excess_city, first_flagged_at=started_at
        )
    return created
