"""The second factor: time-based one-time codes (TOTP, RFC 6238) from django-otp.

A user who confirmed a TOTP device signs in with the password and then a code
(config/login_views.py); a session of theirs that has not checked a code (one signed in before
the device was set up, on another browser) counts as signed out, everywhere: the site, the
review pages and the admin. Staff without a device are told on every page to set one up.
"""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django_otp import user_has_device
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

# One device a user: the one the setup page makes.
DEVICE_NAME = "authenticator"


class TwoFactorMiddleware(OTPMiddleware):
    """django-otp's middleware (request.user.otp_device, is_verified()), and a user with a
    confirmed device who has not given a code in this session is anonymous.

    Costs one query a signed-in request, lazily like request.user: the session's device (a
    verified user) or whether the user has one (anyone else)."""

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        user = super()._verify_user_sync(request, user)
        if not user.is_authenticated:
            user.has_second_factor = False
            return user
        if user.is_verified():
            user.has_second_factor = True
            return user
        if user_has_device(user, confirmed=True):
            anonymous = AnonymousUser()
            self._init_user_fields(anonymous)
            return anonymous
        user.has_second_factor = False
        return user


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def unconfirmed_device(user: Any) -> TOTPDevice:
    """The device the setup page shows until a code from it confirms it: made once, so
    reloading the page does not change the secret the user's app already scanned."""
    unconfirmed = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("pk").first()
    return unconfirmed or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def device_confirm(device: TOTPDevice, code: str) -> bool:
    """True, and the device is in use from now on, when the code is one of its current ones."""
    if not device.verify_token(code):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return True


def qr_svg(text: str) -> str:
    """A QR code of the text as an SVG element, to put in the page as it is (no image request,
    nothing sent elsewhere)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=8)
    svg: str = image.to_string(encoding="unicode")
    return svg


def two_factor_reminder(request: HttpRequest) -> dict[str, bool]:
    """Template context: staff without a second factor see a banner asking them to set one up."""
    user = getattr(request, "user", None)
    return {
        "two_factor_reminder": bool(
            user is not None
            and user.is_authenticated
            and user.is_staff
            and not getattr(user, "has_second_factor", True)
        )
    }
