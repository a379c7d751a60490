"""The public subscription pages: anyone may ask for a webhook call on new incidents."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from catalogue.models import Service
from geo.ip import client_ip
from outages.alerts.email import email_subscription_confirm, email_subscription_create, email_unsubscribe
from outages.alerts.forms import EmailAlertForm, SubscriptionForm
from outages.alerts.models import EmailSubscription, WebhookSubscription
from outages.alerts.subscriptions import SubscriptionRefused, subscription_create
from reports.hashing import rate_limit_key


def _client_key(request: HttpRequest) -> str:
    """Who subscribes, for the per-client limits: a keyed HMAC of the address, never the address."""
    address = client_ip(request)
    if address is None:
        raise SubscriptionRefused(_("We could not tell where your request came from."), status=400)
    return rate_limit_key(address)


def _subscribe_page(
    request: HttpRequest, service: Service, *, form: SubscriptionForm, email_form: EmailAlertForm, status: int
) -> HttpResponse:
    """The subscribe page with both forms, either one carrying its errors."""
    return render(
        request,
        "review/subscribe.html",
        {
            "service": service,
            "form": form,
            "email_form": email_form,
            "max_per_client": settings.WEBHOOK_MAX_PER_CLIENT,
            "deadline": settings.WEBHOOK_DEADLINE_SECONDS,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service.objects.active(), slug=slug)
    form = SubscriptionForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            subscription = subscription_create(
                service=service,
                url=form.cleaned_data["url"],
                client_key=_client_key(request),
                now=timezone.now(),
            )
        except SubscriptionRefused as refused:
            form.add_error(None, str(refused))
            status = refused.status
        else:
            unsubscribe = request.build_absolute_uri(
                reverse("subscriptions:unsubscribe", kwargs={"token": subscription.token})
            )
            return render(
                request,
                "review/subscribed.html",
                {"service": service, "subscription": subscription, "unsubscribe_url": unsubscribe},
                status=201,
            )
    return _subscribe_page(
        request,
        service,
        form=form,
        email_form=EmailAlertForm(),
        status=400 if status == 200 and form.errors else status,
    )


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription.objects.select_related("service"), token=token)
    if request.method == "POST":
        WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
        messages.success(request, _("Unsubscribed: that webhook will not be called again."))
        return redirect("outages:service", slug=subscription.service.slug)
    return render(request, "review/unsubscribe.html", {"subscription": subscription})


@require_POST
def email_subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service.objects.active(), slug=slug)
    form = EmailAlertForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            email_subscription_create(
                service=service,
                email=form.cleaned_data["email"],
                client_key=_client_key(request),
                now=timezone.now(),
            )
        except SubscriptionRefused as refused:
            form.add_error(None, str(refused))
            status = refused.status
        else:
            return render(request, "review/email_pending.html", {"service": service}, status=202)
    return _subscribe_page(request, service, form=SubscriptionForm(), email_form=form, status=status)


@require_http_methods(["GET", "POST"])
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners open links), POST confirms."""
    subscription = get_object_or_404(EmailSubscription.objects.select_related("service"), confirm_token=token)
    confirmed = subscription.confirmed_at is not None
    if request.method == "POST":
        email_subscription_confirm(token, now=timezone.now())
        confirmed = True
    return render(
        request, "review/email_confirm.html", {"subscription": subscription, "confirmed": confirmed}
    )


@csrf_exempt  # RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click", with no cookie
@require_http_methods(["GET", "POST"])
def email_unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    subscription = get_object_or_404(EmailSubscription.objects.select_related("service"), token=token)
    done = request.method == "POST"
    if done:
        email_unsubscribe(token)
    return render(request, "review/email_unsubscribe.html", {"subscription": subscription, "done": done})
