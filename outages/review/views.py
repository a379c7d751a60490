"""The reviewer's pages: login and the review permission required."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from outages.models import REVIEW_PERMISSION, Incident
from outages.review import selectors
from outages.review.exclusion import network_exclude
from outages.review.forms import ActionForm, CommentActionForm, ExcludeNetworkForm, QueueFilterForm
from outages.review.models import ReviewAction
from outages.review.moderation import comments_review
from outages.review.services import ReviewError, actions_allowed, incident_act
from reports.models import Comment


class ReviewerRequest(HttpRequest):
    """A request reviewer_required let through: its user is logged in."""

    user: User


def reviewer_required(view: Callable) -> Callable:
    """Anonymous: to the login page. Logged in without the permission: 403."""
    return login_required(permission_required(REVIEW_PERMISSION, raise_exception=True)(view))


@require_GET
@reviewer_required
def queue(request: ReviewerRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET or None, services=selectors.review_services())
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    service = filters.get("service")
    page, items = selectors.review_queue(
        now=timezone.now(),
        service_id=service.pk if service else None,
        status=filters.get("status") or None,
        day=filters.get("day"),
        page=request.GET.get("page") or 1,
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "review/queue.html",
        {"form": form, "page": page, "items": items, "query": query.urlencode()},
    )


@require_http_methods(["GET", "POST"])
@reviewer_required
def incident_detail(request: ReviewerRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    form = ActionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident_act(
                incident_id=incident.pk,
                action=data["action"],
                actor=request.user,
                now=timezone.now(),
                reason=data["reason"],
                note=data["note"],
                public_note=data["public_note"],
                merge_into_id=data["merge_into"],
            )
        except ReviewError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Done: %(action)s.") % {"action": ReviewAction.Kind(data["action"]).label}
            )
            target = data["merge_into"] if data["action"] == "merge" else incident.pk
            return redirect("review:incident", pk=target)
    return _incident_page(request, pk, action_form=form, status=400 if form.errors else 200)


@require_POST
@reviewer_required
def exclude_network(request: ReviewerRequest, pk: int) -> HttpResponse:
    get_object_or_404(Incident, pk=pk)
    form = ExcludeNetworkForm(request.POST)
    if form.is_valid():
        try:
            exclusion = network_exclude(
                incident_id=pk,
                prefix=form.cleaned_data["prefix"],
                actor=request.user,
                now=timezone.now(),
                note=form.cleaned_data["note"],
            )
        except ReviewError as error:
            form.add_error("prefix", str(error))
        else:
            messages.success(
                request,
                _(
                    "%(reports)s reports from that network marked abusive; %(uncounted)s taken out of the counts."
                )
                % {
                    "reports": number_format(exclusion.reports, force_grouping=True),
                    "uncounted": number_format(exclusion.uncounted, force_grouping=True),
                },
            )
            return redirect("review:incident", pk=pk)
    return _incident_page(request, pk, exclude_form=form, status=400)


def _incident_page(
    request: HttpRequest,
    pk: int,
    *,
    action_form: ActionForm | None = None,
    exclude_form: ExcludeNetworkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.select_related("service", "review"), pk=pk)
    [item] = selectors.queue_items([incident], now=timezone.now())
    candidates = selectors.merge_candidates(incident)
    review = getattr(incident, "review", None)
    return render(
        request,
        "review/incident.html",
        {
            "item": item,
            "incident": incident,
            "review": review,
            "audit": selectors.incident_audit(pk),
            "merge_candidates": candidates,
            # Only the actions that apply to this incident now are offered; merge only with
            # something to merge into (the service refuses the others anyway).
            "allowed_actions": [
                (kind, ReviewAction.Kind(kind).label)
                for kind in [*actions_allowed(incident), *([ReviewAction.Kind.MERGE] if candidates else [])]
            ],
            "action_form": action_form or ActionForm(),
            "exclude_form": exclude_form or ExcludeNetworkForm(),
        },
        status=status,
    )


_COMMENT_DONE = {
    ReviewAction.Kind.COMMENT_APPROVE: gettext_noop("Comments approved: %(count)s."),
    ReviewAction.Kind.COMMENT_REJECT: gettext_noop("Comments rejected: %(count)s."),
    ReviewAction.Kind.COMMENT_HIDE: gettext_noop("Comments hidden: %(count)s."),
}


@require_GET
@reviewer_required
def comments(request: ReviewerRequest) -> HttpResponse:
    """The comments waiting for review (?state=approved: the shown ones, to hide)."""
    return _comments_page(request, state=request.GET.get("state", ""), page=request.GET.get("page") or 1)


@require_POST
@reviewer_required
def comments_act(request: ReviewerRequest) -> HttpResponse:
    form = CommentActionForm(request.POST)
    if not form.is_valid():
        return _comments_page(request, state=request.POST.get("state", ""), form=form, status=400)
    data = form.cleaned_data
    changed = comments_review(
        comment_ids=[comment.pk for comment in data["comment"]],
        action=data["action"],
        actor=request.user,
        now=timezone.now(),
    )
    messages.success(
        request, _(_COMMENT_DONE[data["action"]]) % {"count": number_format(changed, force_grouping=True)}
    )
    url = reverse("review:comments")
    return redirect(f"{url}?state=approved" if data["state"] == Comment.State.APPROVED else url)


def _comments_page(
    request: HttpRequest,
    *,
    state: str,
    page: int | str = 1,
    form: CommentActionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    state = Comment.State.APPROVED if state == Comment.State.APPROVED else Comment.State.PENDING
    return render(
        request,
        "review/comments.html",
        {"page": selectors.review_comments(state=state, page=page), "state": state, "form": form},
        status=status,
    )
