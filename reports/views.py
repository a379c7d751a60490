from __future__ import annotations

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
from reports.devices import device_of
from reports.forms import ReportForm
from reports.intake import ReportRejected, report_intake
from reports.models import Source


@require_POST
def report_submit(request: HttpRequest, slug: str) -> HttpResponse:
    """The service page's form. Post/redirect/get: the thank-you is shown on the service
    page, with the numbers that now include this report."""
    try:
        outcome = report_intake(
            slug=slug,
            problem=request.POST.get("problem", ""),
            proof=(request.POST.get("pow_challenge"), request.POST.get("pow_nonce")),
            address=client_ip(request),
            source=Source.WEB,
            now=timezone.now(),
            honeypot=bool(request.POST.get("website")),
            comment=request.POST.get("comment", ""),
            language=getattr(request, "LANGUAGE_CODE", ""),
            device=device_of(request),
        )
    except ReportRejected as rejected:
        return _refused(request, slug, rejected)
    if outcome is None or outcome.counted:  # a bot that filled the honeypot is thanked too
        messages.success(request, _("Thank you, your report was counted."))
    else:
        messages.info(
            request,
            _("You already reported a problem in the last few minutes; your first report is counted."),
        )
    if outcome is not None and request.POST.get("comment", "").strip():
        if outcome.comment is not None:
            messages.info(request, _("Your comment will be shown once a reviewer approves it."))
        else:
            messages.info(
                request,
                _(
                    "Your comment was not kept: only a first report can carry one, and a few a day per network."
                ),
            )
    return redirect(_thank_you_url(slug))


def _refused(request: HttpRequest, slug: str, rejected: ReportRejected) -> HttpResponse:
    """The page for a refused report: the form again with what to fix."""
    intake = intake_service(slug)
    if intake is None:  # no page or form to show again for a service that does not exist
        raise Http404(_("No such service."))
    if rejected.code == "rate_limited":
        response = render(
            request,
            "reports/rate_limited.html",
            {"service": intake.service, "retry_after": rejected.retry_after},
            status=rejected.status,
        )
        response["Retry-After"] = str(rejected.retry_after)
        return response
    form = ReportForm(request.POST, problem_types=list(ProblemType.objects.filter(service=intake.service)))
    form.is_valid()  # the field errors, in the reader's language
    if rejected.code == "no_client_address":
        form.add_error(None, _("We could not tell where your request came from; please try again."))
    elif rejected.code == "invalid_comment":
        form.add_error("comment", str(rejected))
    elif rejected.code == "unknown_problem":
        if "problem" not in form.errors:
            form.add_error("problem", str(rejected))
    else:  # the proof of work
        form.add_error(None, _("Your browser could not complete the anti-bot check; please try again."))
    return render(
        request,
        "reports/form_invalid.html",
        {"service": intake.service, "form": form},
        status=rejected.status,
    )


def _thank_you_url(slug: str) -> str:
    return reverse("outages:service", kwargs={"slug": slug}) + "#thanks"
