"""Signing in: one login for the site and the admin (config/admin_site.py), the second factor's
code step after the password, and the page where a user sets the second factor up.

Every failed password or code counts against the login budgets (config/login_limit.py); a
successful sign-in makes the browser a known device for the account.
"""

from __future__ import annotations

from base64 import b32encode
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import verify_token

from config.login_limit import (
    known_device_remember,
    login_attempt,
    login_failure_record,
    login_refusal,
)
from config.two_factor import confirmed_device, device_confirm, qr_svg, unconfirmed_device

# The session's note that a password was right and its code is awaited.
CODE_PENDING_SESSION_KEY = "login_code_pending"

WRONG_CODE = gettext_lazy("That code is not right, or it has expired. Try the one your app shows now.")


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\d{6}$",
        label=gettext_lazy("Code from your authenticator app"),
        error_messages={"invalid": gettext_lazy("Type the 6 digits your app shows.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class TwoFactorSetupForm(CodeForm):
    password = forms.CharField(label=gettext_lazy("Your password"), strip=False, widget=forms.PasswordInput)


class LoginView(auth_views.LoginView):
    """Django's login with the failure budgets, and the code step for users with a second factor."""

    template_name = "review/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.attempt = login_attempt(request, request.POST.get("username", ""))
        if (refusal := login_refusal(request, self.attempt)) is not None:
            return refusal
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        login_failure_record(self.request, self.attempt)
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if confirmed_device(user) is not None:
            self.request.session[CODE_PENDING_SESSION_KEY] = {
                "user": user.pk,
                "backend": user.backend,
                "next": self.get_success_url(),
                "until": timezone.now().timestamp() + settings.LOGIN_CODE_MINUTES * 60,
            }
            return redirect("login-code")
        auth_login(self.request, user)
        response = HttpResponseRedirect(self.get_success_url())
        known_device_remember(self.request, response, user.get_username())
        return response


def _pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    """The user whose password was right and whose code is awaited, while there is time."""
    pending = request.session.get(CODE_PENDING_SESSION_KEY)
    if not pending or pending["until"] < timezone.now().timestamp():
        return None
    user = get_user_model()._default_manager.filter(pk=pending["user"], is_active=True).first()
    return (user, pending) if user is not None else None


@sensitive_post_parameters()
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponseBase:
    """The second step for a user with a second factor: a code from their authenticator app."""
    found = _pending_user(request)
    device = confirmed_device(found[0]) if found is not None else None
    if found is None or device is None:
        request.session.pop(CODE_PENDING_SESSION_KEY, None)
        messages.info(request, _("Your sign-in timed out. Please enter your password again."))
        return redirect("login")
    user, pending = found
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        attempt = login_attempt(request, user.get_username())
        if (refusal := login_refusal(request, attempt)) is not None:
            return refusal
        valid = form.is_valid()
        verified = verify_token(user, device.persistent_id, form.cleaned_data["code"]) if valid else None
        if verified is not None:
            del request.session[CODE_PENDING_SESSION_KEY]
            user.otp_device = verified  # django-otp keeps it in the session at login
            auth_login(request, user, backend=pending["backend"])
            response = HttpResponseRedirect(pending["next"])
            known_device_remember(request, response, user.get_username())
            return response
        login_failure_record(request, attempt)
        if valid:
            form.add_error("code", WRONG_CODE)
    return render(request, "login/code.html", {"form": form})


@login_required
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Turn on the second factor: scan the QR code, then confirm with a code and the password."""
    user = request.user
    if confirmed_device(user) is not None:
        return render(request, "login/two_factor.html", {"enabled": True})
    device = unconfirmed_device(user)
    form = TwoFactorSetupForm(request.POST or None)
    if request.method == "POST":
        attempt = login_attempt(request, user.get_username())
        if (refusal := login_refusal(request, attempt)) is not None:
            return refusal
        if form.is_valid():
            if not user.check_password(form.cleaned_data["password"]):
                login_failure_record(request, attempt)
                form.add_error("password", _("That is not your password."))
            elif not device_confirm(device, form.cleaned_data["code"]):
                login_failure_record(request, attempt)
                form.add_error("code", WRONG_CODE)
            else:
                otp_login(request, device)
                messages.success(
                    request, _("Two-factor sign-in is on. You will be asked for a code after your password.")
                )
                return redirect("two-factor")
    return render(
        request,
        "login/two_factor.html",
        {
            "enabled": False,
            "form": form,
            "qr_code": qr_svg(device.config_url),
            "secret": b32encode(device.bin_key).decode(),
        },
    )
