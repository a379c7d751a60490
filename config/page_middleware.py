"""Django's page middleware, skipped on the report intake endpoint.

POST /api/v1/reports/ is the one hot endpoint, and its answers depend on no user, language or
flash message: the API has no authentication and its messages are English. Skipping these
three layers there saves about 0.07 ms of a report's ~1.3 ms of worker CPU (docs/benchmarks.md,
"Report ingest"). Every other path runs them exactly as before, and they keep Django's class
names and bases, so the admin's middleware checks still find them.

Session and clickjacking middleware stay as Django's own classes, since `check --deploy` looks
for them by path; CommonMiddleware (ALLOWED_HOSTS, through get_host) and CsrfViewMiddleware
stay on for every path, intake included.
"""

from __future__ import annotations

from collections.abc import Awaitable

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.http import HttpRequest, HttpResponseBase
from django.middleware import locale
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin

from outages.public_cache import vary_on_language

# Must match the report API's route (a test checks it against reverse()).
REPORT_INTAKE_PATH = "/api/v1/reports/"


class SkippedOnReportIntake(MiddlewareMixin):
    """Mixin, listed before a Django middleware class: report intake requests pass straight
    through it.

    Only for middleware whose work is all in __call__ (process_request/process_response):
    a process_view hook would still run, since Django collects those separately.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "process_view"):
            raise TypeError(f"{cls.__name__} has a process_view hook; it cannot be skipped here")

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if request.path_info == REPORT_INTAKE_PATH:
            self.skipped()
            return self.get_response(request)
        return super().__call__(request)

    def skipped(self) -> None:
        """What the middleware must undo when it does not run."""


class LocaleMiddleware(SkippedOnReportIntake, locale.LocaleMiddleware):
    def skipped(self) -> None:
        # LocaleMiddleware activates a language per request and never deactivates it, so a
        # skipped request would otherwise inherit whatever the thread's previous request chose.
        translation.deactivate()

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        # Django's says Vary: Accept-Language, but the language cookie is read first: a shared
        # cache must key on both, or one reader's cookie picks everyone's language.
        response = super().process_response(request, response)
        vary_on_language(response)
        return response


class AuthenticationMiddleware(SkippedOnReportIntake, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(SkippedOnReportIntake, messages.MessageMiddleware):
    pass
