"""The arithmetic of merging one incident into another: what the surviving incident keeps
of both. The merge itself (locks, checks, the duplicate's dismissal, the audit) is a review
action, outages.review.services."""

from __future__ import annotations

from outages.models import Incident, IncidentCity


def incident_fold(*, source: Incident, target: Incident) -> None:
    """Fold `source`'s numbers into `target` (the later incident, which survives) and save
    it: it starts when `source` started, keeps the higher peak and score, and adds up the
    excess reports, the problems and the cities."""
    target.started_at = source.started_at
    if source.peak_count > target.peak_count:
        target.peak_count, target.peak_at = source.peak_count, source.peak_at
    target.max_score = max(target.max_score, source.max_score)
    target.excess_reports += source.excess_reports
    target.set_problem_counts(target.problem_counts() + source.problem_counts())
    target.save(
        update_fields=[
            "started_at",
            "peak_count",
            "peak_at",
            "max_score",
            "excess_reports",
            "problems",
            "updated_at",
        ]
    )
    _cities_merge(source.pk, target.pk)


def _cities_merge(source_id: int, target_id: int) -> None:
    existing = {city.city_id: city for city in IncidentCity.objects.filter(incident_id=target_id)}
    added = []
    for city in IncidentCity.objects.filter(incident_id=source_id):
        same = existing.get(city.city_id)
        if same is None:
            added.append(
                IncidentCity(
                    incident_id=target_id,
                    city_id=city.city_id,
                    count=city.count,
                    excess=city.excess,
                    first_flagged_at=city.first_flagged_at,
                )
            )
            continue
        same.count += city.count
        same.excess += city.excess
        same.first_flagged_at = min(same.first_flagged_at, city.first_flagged_at)
        same.save(update_fields=["count", "excess", "first_flagged_at"])
    IncidentCity.objects.bulk_create(added)
