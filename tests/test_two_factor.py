"""The second factor: a reviewer sets up TOTP, then signs in with the password and a code, on
the site and in the admin; staff without it are told to turn it on."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from config import login_limit
from tests.review_helpers import reviewer_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-reviewer-1"
NOW = dt.datetime(2026, 12, 4, 10, 7, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def code_of(device: TOTPDevice) -> str:
    """The code an authenticator app shows now for this device (RFC 6238, computed here)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def with_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def sign_in(client: Client, url: str, username: str = "reviewer", password: str = PASSWORD):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR="79.18.44.3")


def test_a_reviewer_turns_on_two_factor_with_a_code_from_the_qr_code(client, time_machine):
    reviewer = reviewer_user()
    client.force_login(reviewer)

    page = client.get("/review/two-factor/").content.decode()
    device = TOTPDevice.objects.get(user=reviewer)
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page).group(1)
    assert "<svg" in page and not device.confirmed
    assert f"secret={secret}" in device.config_url and "issuer=Downradar" in device.config_url
    client.get("/review/two-factor/")  # a reload keeps the secret the app scanned
    assert TOTPDevice.objects.filter(user=reviewer).count() == 1

    response = client.post("/review/two-factor/", {"code": code_of(device), "password": PASSWORD})

    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id  # this session stays in
    assert client.get("/review/").status_code == 200
    assert "is on for your account" in client.get("/review/two-factor/").content.decode()


@pytest.mark.parametrize(
    ("code", "password", "error"),
    [
        ("wrong", PASSWORD, "Type the 6 digits your app shows."),
        ("right-but-old", PASSWORD, "That code is not right"),
        ("right", "not-my-password", "That is not your password."),
    ],
)
def test_two_factor_is_not_turned_on_without_a_current_code_and_the_password(
    client, time_machine, code, password, error
):
    reviewer = reviewer_user()
    client.force_login(reviewer)
    client.get("/review/two-factor/")
    device = TOTPDevice.objects.get(user=reviewer)
    if code == "right-but-old":
        code = code_of(device)
        time_machine.shift(dt.timedelta(minutes=5))
    elif code == "right":
        code = code_of(device)

    response = client.post("/review/two-factor/", {"code": code, "password": password})

    assert response.status_code == 200 and error in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


def test_with_two_factor_the_password_alone_does_not_sign_in(client):
    device = with_device(reviewer_user())

    response = sign_in(client, "/accounts/login/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session
    assert client.get("/review/").status_code == 302  # still signed out
    page = client.get("/accounts/login/code/")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).last_used_at


def test_the_right_code_after_the_password_signs_in_and_a_wrong_one_does_not(client):
    device = with_device(reviewer_user())
    sign_in(client, "/accounts/login/?next=/review/comments/")
    right = code_of(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    refused = client.post("/accounts/login/code/", {"code": wrong}, REMOTE_ADDR="79.18.44.3")
    assert refused.status_code == 200 and "That code is not right" in refused.content.decode()
    assert "_auth_user_id" not in client.session

    accepted = client.post("/accounts/login/code/", {"code": right}, REMOTE_ADDR="79.18.44.3")

    assert accepted.status_code == 302 and accepted["Location"] == "/review/comments/"
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert login_limit.KNOWN_DEVICE_COOKIE in accepted.cookies
    assert client.get("/review/").status_code == 200


def test_a_code_is_good_once(client):
    device = with_device(reviewer_user())
    sign_in(client, "/accounts/login/")
    code = code_of(device)
    client.post("/accounts/login/code/", {"code": code})
    client.post("/accounts/logout/")

    sign_in(client, "/accounts/login/")
    replayed = client.post("/accounts/login/code/", {"code": code})

    assert replayed.status_code == 200 and "_auth_user_id" not in client.session


def test_the_code_step_times_out(client, settings, time_machine):
    device = with_device(reviewer_user())
    sign_in(client, "/accounts/login/")
    time_machine.shift(dt.timedelta(minutes=settings.LOGIN_CODE_MINUTES, seconds=1))

    response = client.post("/accounts/login/code/", {"code": code_of(device)})

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_the_code_step_without_a_password_first_goes_back_to_the_login(client):
    response = client.post("/accounts/login/code/", {"code": "123456"})

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_the_admin_asks_for_the_code_too(client):
    admin = User.objects.create_user("boss", password=PASSWORD, is_staff=True, is_superuser=True)
    device = with_device(admin)

    response = sign_in(client, "/admin/login/?next=/admin/", username="boss")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert client.get("/admin/").status_code == 302  # to the login: not in yet
    signed_in = client.post("/accounts/login/code/", {"code": code_of(device)})
    assert signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_session_that_never_gave_a_code_is_signed_out_once_the_user_has_two_factor(client):
    """A browser signed in before two-factor was turned on (on another device) must not keep
    the review pages or the admin open without a code."""
    reviewer = reviewer_user()
    reviewer.is_staff = True
    reviewer.save(update_fields=["is_staff"])
    client.force_login(reviewer)
    assert client.get("/review/").status_code == 200

    with_device(reviewer)

    assert client.get("/review/").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_wrong_codes_count_against_the_login_budget(client, settings, own_redis):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": own_redis.url}}
    device = with_device(reviewer_user())
    sign_in(client, "/accounts/login/")
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"
    per_name_and_client = int(login_limit.PER_NAME_AND_CLIENT_RATE.split("/")[0])
    answers = [
        client.post("/accounts/login/code/", {"code": wrong}, REMOTE_ADDR="93.56.1.1").status_code
        for _ in range(per_name_and_client)
    ]

    refused = client.post("/accounts/login/code/", {"code": code_of(device)}, REMOTE_ADDR="93.56.1.1")

    assert answers == [200] * per_name_and_client
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_staff_without_two_factor_are_told_to_turn_it_on(client):
    staff = User.objects.create_user("staffer", is_staff=True)
    client.force_login(staff)

    assert "Turn on two-factor sign-in" in client.get("/").content.decode()

    with_device(staff)
    client.force_login(staff)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=staff).persistent_id
    session.save()
    page = client.get("/").content.decode()
    assert "Signed in as staffer" in page and "Turn on two-factor sign-in" not in page


def test_people_who_are_not_staff_are_not_nagged(client):
    client.force_login(reviewer_user())

    assert "Turn on two-factor sign-in" not in client.get("/").content.decode()
