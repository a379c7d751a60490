from __future__ import annotations

from typing import Any

from reports.intake import ReportOutcome


def report_payload(outcome: ReportOutcome) -> dict[str, Any]:
    report, location = outcome.report, outcome.location
    return {
        "id": report.pk,
        "service": report.service.slug,
        "problem": report.problem,
        "counted": outcome.counted,
        "created_at": report.created_at,
        "location": None
        if location is None
        else {
            "city": outcome.city.name_en if outcome.city else None,
            "city_local": outcome.city.native_name if outcome.city else None,
            "country": location.country_code,
            "lat": outcome.city.latitude if outcome.city else location.latitude,
            "lon": outcome.city.longitude if outcome.city else location.longitude,
        },
    }
