"""Two-factor sign-in in Chromium: a staff reviewer follows the notice, scans (reads) the key,
turns it on, and the next sign-in asks for a code. The page's inline QR code passes the CSP."""

from __future__ import annotations

import time
from base64 import b32decode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.review_helpers import reviewer_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in(page) -> None:
    page.goto("/accounts/login/?next=/review/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("pw-reviewer-1")
    page.locator("main").get_by_role("button").click()


def next_step_drift(user) -> int:
    """How many steps from now the code the device takes next lies: the step after the one
    just used (a code cannot be used twice), on the device's clock. The device learns the
    drift of each code it accepts (OTP_TOTP_SYNC): one read just before a step ended and
    checked just after it moved the device's clock a step back."""
    device = TOTPDevice.objects.get(user=user)
    now = (int(time.time()) - device.t0) // device.step
    return max(device.last_t + 1, now + device.drift) - now


def test_a_staff_reviewer_turns_on_two_factor_and_then_signs_in_with_a_code(open_page):
    reviewer = reviewer_user()
    reviewer.is_staff = True
    reviewer.save(update_fields=["is_staff"])
    page = open_page()
    log_in(page)
    page.wait_for_url("**/review/")

    page.locator(".notice").get_by_role("link", name="Turn on two-factor sign-in").click()
    page.wait_for_url("**/review/two-factor/")
    qr = page.locator(".qr-code svg").bounding_box()
    assert qr is not None and qr["width"] > 100 and qr["height"] > 100
    key = b32decode(page.locator("main code").inner_text())
    page.get_by_label("Code from your authenticator app").fill(f"{totp(key):06d}")
    page.get_by_label("Your password").fill("pw-reviewer-1")
    page.locator("main").get_by_role("button", name="Turn on two-factor sign-in").click()
    page.wait_for_url("**/review/two-factor/")
    assert "Two-factor sign-in is on." in page.locator("#thanks").inner_text()
    assert page.locator(".notice").count() == 0

    page.get_by_role("button", name="Log out").click()
    log_in(page)
    page.wait_for_url("**/accounts/login/code/")
    page.get_by_label("Code from your authenticator app").fill(
        f"{totp(key, drift=next_step_drift(reviewer)):06d}"
    )
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/review/")
    assert "Signed in as reviewer" in page.locator(".account").inner_text()
