from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from outages.models import ProblemType, Service
from reports.forms import ReportForm
from reports.selectors import city_counts, problem_shares, report_count


def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    services = Service.objects.active()
    if query:
        services = services.filter(name__icontains=query)
    return render(request, "outages/home.html", {"services": services, "query": query})


def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service.objects.active(), slug=slug)
    now = timezone.now()
    problem_types = list(ProblemType.objects.filter(service=service))
    labels = {problem.code: problem.display_label for problem in problem_types}
    last_day = now - dt.timedelta(hours=24)
    context = {
        "service": service,
        "form": ReportForm(problem_types=problem_types),
        "count_last_hour": report_count(service_id=service.pk, since=now - dt.timedelta(hours=1)),
        "count_last_day": report_count(service_id=service.pk, since=last_day),
        "problems": [
            {
                "label": labels.get(share.code, share.code),
                "count": share.count,
                "percent": share.percent,
            }
            for share in problem_shares(service_id=service.pk, since=last_day)
        ],
        "cities": city_counts(service_id=service.pk, since=last_day, limit=10),
    }
    return render(request, "outages/service_detail.html", context)
