from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalogue.models import ProblemType
from catalogue.selectors import intake_service
from geo.ip import client_ip
from reports.forms import ReportForm
from reports.models import Source
from reports.pow import PowRejected, pow_check
from reports.ratelimit import retry_after_seconds
from reports.services import ReportRejected, report_create

logger = logging.getLogger(__name__)


@require_POST
def report_submit(request: HttpRequest, slug: str) -> HttpResponse:
    """The service page's form. Post/redirect/get: the thank-you is shown on the service
    page, with the numbers that now include this report."""
    intake = intake_service(slug)
    if intake is None:
        raise Http404(_("No such service."))
    problem_types = list(ProblemType.objects.filter(service=intake.service))
    form = ReportForm(request.POST, problem_types=problem_types)
    address = client_ip(request)
    if address is not None and (retry_after := retry_after_seconds(request, address)) is not None:
        response = render(
            request,
            "reports/rate_limited.html",
            {"service": intake.service, "retry_after": retry_after},
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
    try:
        pow_check(request.POST.get("pow_challenge"), request.POST.get("pow_nonce"))
    except PowRejected as rejected:
        form.add_error(None, _("Your browser could not complete the anti-bot check; please try again."))
        return render(
            request,
            "reports/form_invalid.html",
            {"service": intake.service, "form": form},
            status=rejected.status,
        )
    if not form.is_valid() or address is None:
        if address is None:
            form.add_error(
                None,
                _("We could not tell where your request came from; please try again."),
            )
        return render(
            request,
            "reports/form_invalid.html",
            {"service": intake.service, "form": form},
            status=400,
        )
    if form.is_bot():
        logger.info("honeypot field filled; report discarded (service=%s)", slug)
        messages.success(request, _("Thank you, your report was counted."))
        return redirect(_thank_you_url(slug))
    try:
        outcome = report_create(
            service=intake.service,
            problem=form.cleaned_data["problem"],
            valid_problems=intake.problem_codes,
            client_ip=address,
            source=Source.WEB,
            now=timezone.now(),
        )
    except ReportRejected as rejected:
        form.add_error("problem", str(rejected))
        return render(
            request,
            "reports/form_invalid.html",
            {"service": intake.service, "form": form},
            status=400,
        )
    if outcome.counted:
        messages.success(request, _("Thank you, your report was counted."))
    else:
        messages.info(
            request,
            _("You already reported a problem in the last few minutes; your first report is counted."),
        )
    return redirect(_thank_you_url(slug))


def _thank_you_url(slug: str) -> str:
    return reverse("outages:service", kwargs={"slug": slug}) + "#thanks"
