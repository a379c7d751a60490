"""Networks, not addresses (issue 14): coordinated floods from one /60, from hosting networks
or from one operator's /16 open no incident; genuine national and regional outages still do,
and an outage confined to one operator is reported as a likely ISP problem."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import ipaddress
import urllib.error
import urllib.parse
import urllib.request

import pytest

from catalogue.models import Service
from geo.models import City
from outages import detection
from outages.models import DetectionWatermark, Incident, NetworkMix, ServiceStatus
from outages.review.models import ReviewAction
from outages.watermark import WATERMARK
from reports import hashing
from reports.models import Report
from tests.detection_helpers import MINUTE, T0, detect_after_the_burst, flat_baseline, send_over_ten_minutes
from tests.helpers import post_report
from tests.own_services import app_env, django_run, gunicorn, post_json

REPORT = {"service": "chatgpt", "problem": "login"}
# In a child process on the server's database: a quiet baseline for ChatGPT, then five
# minutes of detection passes; the result is its incidents and the status after each pass.
DETECT_OVER_FIVE_MINUTES = """
import datetime as dt
from django.utils import timezone
from catalogue.models import Service
from outages.detection_pass import detection_run
from outages.models import DetectionWatermark, Incident, ServiceStatus
from outages.watermark import WATERMARK
from tests.detection_helpers import flat_baseline
now = timezone.now()
service = Service.objects.get(slug="chatgpt")
flat_baseline(service, per_minute=0.5, built_at=now - dt.timedelta(days=1))
DetectionWatermark.objects.update_or_create(
    name=WATERMARK, defaults={"processed_through": now.replace(second=0, microsecond=0) - dt.timedelta(minutes=5)}
)
statuses = []
for minutes in range(1, 6):
    detection_run(now=now + dt.timedelta(minutes=minutes))
    row = ServiceStatus.objects.world().filter(service=service).first()
    statuses.append(row.status if row else None)
result = [Incident.objects.filter(service=service).count(), statuses]
"""
# Where Italians usually report from (shares of a service's reports) and big prefixes of
# each operator, named as the ASN table (geo/asn_table.py) names them.
USUAL = {
    "Telecom Italia S.p.A.": (0.40, ["79.0.0.0/10", "87.0.0.0/11"]),
    "Vodafone Italia S.p.A.": (0.25, ["2.40.0.0/13", "37.176.0.0/13"]),
    "WIND TRE S.P.A.": (0.20, ["151.16.0.0/12"]),
    "Fastweb SpA": (0.15, ["93.32.0.0/11"]),
}
# Addresses the bundled city database places in Rome, per operator, each in its own /24.
ROME = {
    "tim": [
        "79.22.242.62",
        "79.22.227.163",
        "79.22.10.90",
        "79.22.180.238",
        "79.22.195.196",
        "79.22.67.189",
        "79.22.30.3",
        "79.22.120.107",
        "79.22.110.237",
        "79.22.98.139",
        "79.22.158.39",
        "79.22.172.210",
        "79.22.80.163",
        "79.22.78.28",
        "79.22.102.158",
        "79.22.219.132",
        "79.22.237.117",
        "79.22.216.233",
        "79.22.88.219",
        "79.22.198.134",
    ],
    "voda": [
        "2.42.55.80",
        "2.42.135.217",
        "2.45.33.69",
        "2.37.194.21",
        "2.35.186.225",
        "2.40.103.199",
        "2.39.200.170",
        "2.42.154.244",
        "2.38.119.55",
        "37.183.173.226",
        "37.182.89.0",
        "37.182.82.237",
    ],
    "wind": [
        "151.27.1.88",
        "151.28.198.203",
        "151.28.101.0",
        "151.28.242.194",
        "151.27.53.224",
        "151.27.215.48",
        "151.17.148.182",
        "151.28.193.168",
        "151.25.147.111",
        "151.28.135.206",
        "151.25.222.192",
        "151.27.218.109",
        "151.27.64.91",
        "151.24.18.91",
        "151.17.153.32",
        "151.27.2.197",
        "151.27.223.104",
        "151.22.22.130",
        "151.27.222.167",
        "151.27.156.103",
    ],
    "fw": [
        "93.46.157.163",
        "93.42.2.86",
        "93.45.234.186",
        "93.39.49.63",
        "93.45.216.74",
        "93.45.157.24",
        "93.40.124.129",
        "93.40.46.109",
        "93.39.60.65",
        "93.33.226.146",
        "93.40.51.243",
        "93.38.189.24",
        "93.40.62.133",
        "93.43.76.165",
        "93.40.176.12",
        "93.45.224.92",
        "93.45.208.224",
        "93.40.92.159",
        "93.46.219.182",
        "93.40.121.236",
    ],
}


def usual_mix(service: Service) -> None:
    """The service's learned mix, as the nightly rebuild stores it (each prefix an equal
    part of its operator's share)."""
    rows = []
    for name, (share, prefixes) in USUAL.items():
        rows.append(
            NetworkMix(service=service, level="operator", key=name, share=share, reports=1000, built_at=T0)
        )
        for prefix in prefixes:
            rows.append(
                NetworkMix(
                    service=service,
                    level="prefix",
                    key=hashing.network_hash_of_prefix(f"as|{prefix}"),
                    share=share / len(prefixes),
                    reports=1000,
                    built_at=T0,
                )
            )
    NetworkMix.objects.bulk_create(rows)


@pytest.fixture
def quiet_service(chatgpt, settings):
    """ChatGPT on a quiet afternoon (half a report a minute), with its usual operator mix."""
    settings.REPORT_RATE_LIMIT = "30/h"
    flat_baseline(chatgpt, per_minute=0.5)
    usual_mix(chatgpt)
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - MINUTE)
    return chatgpt


def spread(prefix: str, count: int, *, step: int) -> list[str]:
    """count addresses of prefix, one in each of count /24s, step /24s apart."""
    network = ipaddress.ip_network(prefix)
    return [str(network[(i * step) * 256 + 10]) for i in range(count)]


def national_crowd(total: int) -> list[str]:
    """Reports from the usual operators in their usual shares, each from its own /24."""
    crowd = []
    for share, prefixes in USUAL.values():
        n = round(total * share)
        for k, prefix in enumerate(prefixes):
            crowd += spread(prefix, n // len(prefixes) + (k < n % len(prefixes)), step=37)
    return crowd


def flood_60_from_12_64s() -> list[str]:
    """6 addresses in each of 12 /64s of 2a02:b000:1230::/60 (Wind Tre), a new one each time."""
    return [f"2a02:b000:1230:{k:x}00::{i + 1:x}" for i in range(6) for k in range(12)]


class BehindTlsProxy(http.cookiejar.DefaultCookiePolicy):
    """Sends the Secure cookies (CSRF, messages) over the test's plain HTTP, as a browser
    does over the TLS that nginx ends in production."""

    def return_ok_secure(self, cookie, request):
        return True


def post_form(
    opener: urllib.request.OpenerDirector, url: str, fields: dict, *, headers: dict
) -> tuple[int, str]:
    """(status, page) of a form post, following the redirect to the thank-you as a browser does."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def behind_nginx(own_database, own_redis, tmp_path) -> dict[str, str]:
    """The app's environment on its own database and Redis, behind one proxy, at 30 reports an hour."""
    return app_env(
        database_url=own_database.url,
        redis_url=own_redis.url,
        var_dir=tmp_path,
        TRUSTED_PROXY_COUNT="1",
        REPORT_RATE_LIMIT="30/h",
    )


@pytest.mark.slow
def test_one_ipv6_60_split_into_12_64s_over_http_opens_no_incident(behind_nginx, tmp_path):
    env = behind_nginx
    with gunicorn(env, tmp_path / "web.log") as web:
        answers = [
            post_json(f"{web.base}/api/v1/reports/", REPORT, headers={"X-Forwarded-For": address})[0]
            for address in flood_60_from_12_64s()
        ]
    found = django_run(DETECT_OVER_FIVE_MINUTES, env)

    assert answers.count(201) == 12  # one counted report per /64 (household)
    incidents, statuses = found
    assert incidents == 0
    assert "outage" not in statuses and "warning" in statuses  # held back as a suspected flood


@pytest.mark.slow
def test_one_ipv6_60_split_into_12_64s_through_the_web_form_opens_no_incident(behind_nginx, tmp_path):
    env = behind_nginx
    with gunicorn(env, tmp_path / "web.log") as web:
        cookies = http.cookiejar.CookieJar(policy=BehindTlsProxy())
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
        opener.open(f"{web.base}/s/chatgpt/", timeout=10).read()  # the page sets the CSRF cookie
        token = next(cookie.value for cookie in cookies if cookie.name == "csrftoken")
        answers = [
            post_form(
                opener,
                f"{web.base}/s/chatgpt/report/",
                {"problem": "login", "csrfmiddlewaretoken": token},
                headers={"X-Forwarded-For": address},
            )
            for address in flood_60_from_12_64s()
        ]
    incidents, statuses = django_run(DETECT_OVER_FIVE_MINUTES, env)

    assert [status for status, _ in answers] == [200] * 72
    thanked = [page for _, page in answers if "Thank you, your report was counted." in page]
    assert len(thanked) == 12  # one counted report per /64 (household), the repeats explained
    assert incidents == 0
    assert "outage" not in statuses and "warning" in statuses  # held back as a suspected flood


@pytest.mark.django_db
def test_seven_hosting_networks_times_30_reports_open_no_incident(client, quiet_service, time_machine):
    hosting = [
        "2a01:4f8:1:2",
        "2001:41d0:1:2",
        "2a01:e10:1:2",
        "2604:a880:800:10",
        "2600:1f18:1:2",
        "2a02:c204:1:2",
    ]
    addresses = [f"{prefix}::{i + 1:x}" for prefix in hosting for i in range(30)]
    addresses += [f"51.15.9.{i + 1}" for i in range(30)]  # Scaleway's IPv4 /24

    send_over_ten_minutes(client, time_machine, addresses, REPORT)
    detect_after_the_burst(time_machine)

    assert not Incident.objects.filter(service=quiet_service).exists()
    assert ServiceStatus.objects.world().get(service=quiet_service).status != "outage"


def test_a_spike_from_hosting_operators_the_service_never_hears_from_is_a_flood():
    hosting = ["Hetzner", "OVH", "Scaleway", "DigitalOcean", "Amazon", "Contabo", "Linode"]
    reports = [
        detection.SpikeReport(network=f"{name}{i}", site=f"{name}{i // 3}", prefix=name, operator=name)
        for name in hosting
        for i in range(30)
    ]
    usual = {name: share for name, (share, _) in USUAL.items()}

    verdict = detection.flood_verdict(reports, usual_operators=usual, usual_prefixes={})

    assert verdict.flood and verdict.why == "rare_operators" and verdict.operators == 7


@pytest.mark.django_db
def test_600_reports_from_300_24s_of_one_operators_16_open_no_incident(client, quiet_service, time_machine):
    # Vodafone Italia's 2.33.0.0/16: two addresses in each of 300 /24s.
    statuses = send_over_ten_minutes(client, time_machine, vodafone_16_flood(), REPORT)
    detect_after_the_burst(time_machine)

    assert statuses.count(201) == 600
    assert not Incident.objects.filter(service=quiet_service).exists()
    status = ServiceStatus.objects.world().get(service=quiet_service)
    assert status.status == "warning" and status.reason == "flood_suspected"


@pytest.mark.django_db
def test_a_national_outage_over_the_usual_operators_opens_an_incident_as_soon_as_without_the_mix(
    client, quiet_service, time_machine
):
    other = Service.objects.exclude(pk=quiet_service.pk).filter(is_active=True).first()
    flat_baseline(other, per_minute=0.5)  # the same service without a learned mix
    crowd = national_crowd(150)
    for i, ip in enumerate(crowd):
        time_machine.move_to(T0 + dt.timedelta(seconds=600 * i / len(crowd)), tick=False)
        assert post_report(client, REPORT, ip=ip).status_code == 201
        assert post_report(client, {"service": other.slug, "problem": "login"}, ip=ip).status_code in (
            201,
            429,
        )
    detect_after_the_burst(time_machine)

    with_mix = Incident.objects.get(service=quiet_service)
    assert ServiceStatus.objects.world().get(service=quiet_service).status == "outage"
    without_mix = Incident.objects.get(service=other)
    assert (with_mix.started_at, with_mix.created_at) == (without_mix.started_at, without_mix.created_at)
    assert with_mix.operator is None


@pytest.mark.django_db
def test_a_regional_outage_in_rome_over_its_operators_opens_an_incident(
    client, chatgpt, settings, time_machine
):
    settings.REPORT_RATE_LIMIT = "30/h"
    flat_baseline(chatgpt, per_minute=20)  # busy nationally: the Rome reports barely move the total
    usual_mix(chatgpt)
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - MINUTE)
    crowd = [ip for addresses in ROME.values() for ip in addresses]

    send_over_ten_minutes(client, time_machine, crowd, REPORT)
    detect_after_the_burst(time_machine)

    incident = Incident.objects.get(service=chatgpt)
    rome = City.objects.get(name_en="Rome")
    assert incident.cities.filter(city=rome).exists()
    assert ServiceStatus.objects.world().get(service=chatgpt).status != "ok"


@pytest.mark.django_db
def test_an_outage_confined_to_vodafone_is_reported_as_a_likely_isp_problem(
    client, quiet_service, time_machine
):
    # 150 Vodafone Italia customers across its prefixes, where it usually has 25%.
    crowd = spread("2.40.0.0/13", 75, step=27) + spread("37.176.0.0/13", 75, step=23)

    send_over_ten_minutes(client, time_machine, crowd, REPORT)
    detect_after_the_burst(time_machine)

    status = ServiceStatus.objects.world().get(service=quiet_service)
    assert (status.status, status.reason) == ("warning", "isp")
    assert status.operator == {
        "asn": 30722,
        "name": "Vodafone Italia",
        "share": 1.0,
        "usual_share": 0.25,
        "services": 1,
    }
    assert Incident.objects.get(service=quiet_service).operator["name"] == "Vodafone Italia"
    body = client.get("/api/v1/services/chatgpt/").json()
    assert body["status_reason"] == "isp"
    assert body["operator"] == {"asn": 30722, "name": "Vodafone Italia", "share": 1.0, "usual_share": 0.25}
    page = client.get("/s/chatgpt/").content.decode()
    assert "Most reports come from Vodafone Italia customers: this may be a Vodafone problem" in page
    # Italy, where they all are, gets the same verdict as the world.
    italy = ServiceStatus.objects.get(service=quiet_service, scope="IT")
    assert (italy.status, italy.reason, italy.operator) == ("warning", "isp", status.operator)
    assert client.get("/api/v1/services/chatgpt/?country=IT").json()["status_reason"] == "isp"


# A service with a worldwide audience: its Italian reports are 50% of the whole, and in Italy
# Telecom Italia has 56% of them (28% of the world's); the rest come from the United States.
ITALY_USUAL = {
    "Telecom Italia S.p.A.": 0.56,
    "Vodafone Italia S.p.A.": 0.20,
    "WIND TRE S.P.A.": 0.14,
    "Fastweb SpA": 0.10,
}
ITALY_AUDIENCE = 0.5


@pytest.fixture
def worldwide_service(chatgpt, settings):
    """ChatGPT on a quiet afternoon with a worldwide audience's usual mix: each operator's
    share worldwide and of the Italian reports, as the nightly rebuild stores them."""
    settings.REPORT_RATE_LIMIT = "30/h"
    flat_baseline(chatgpt, per_minute=0.5)

    def mix(level: str, key: str, share: float, scope: str = "") -> NetworkMix:
        return NetworkMix(
            service=chatgpt, level=level, scope=scope, key=key, share=share, reports=1000, built_at=T0
        )

    rows = [mix("operator", "Comcast Cable Communications, LLC", 1 - ITALY_AUDIENCE)]
    for name, share in ITALY_USUAL.items():
        rows += [mix("operator", name, share * ITALY_AUDIENCE), mix("operator", name, share, scope="IT")]
        prefixes = USUAL[name][1]
        rows += [
            mix(
                "prefix",
                hashing.network_hash_of_prefix(f"as|{prefix}"),
                share * ITALY_AUDIENCE / len(prefixes),
            )
            for prefix in prefixes
        ]
    NetworkMix.objects.bulk_create(rows)
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - MINUTE)
    return chatgpt


def italian_crowd(counts: dict[str, int]) -> list[str]:
    """`counts` customers of each Italian operator, each from its own /24 over its prefixes."""
    crowd = []
    for name, n in counts.items():
        prefixes = USUAL[name][1]
        for k, prefix in enumerate(prefixes):
            crowd += spread(prefix, n // len(prefixes) + (k < n % len(prefixes)), step=29)
    return crowd


@pytest.mark.django_db
def test_an_italian_rise_of_the_services_usual_italian_audience_is_not_an_isp_outage(
    client, worldwide_service, time_machine
):
    from outages.review.selectors import queue_items

    # 150 Italians, 70% of them Telecom Italia customers: 2.5 times its 28% of the world's
    # usual reports, but near its 56% of the Italian ones, where every report comes from.
    crowd = italian_crowd(
        {"Telecom Italia S.p.A.": 105, "Vodafone Italia S.p.A.": 20, "WIND TRE S.P.A.": 15, "Fastweb SpA": 10}
    )

    send_over_ten_minutes(client, time_machine, crowd, REPORT)
    detect_after_the_burst(time_machine)

    assert set(Report.objects.values_list("country_code", flat=True)) == {"IT"}
    for scope in ("", "IT"):
        status = ServiceStatus.objects.get(service=worldwide_service, scope=scope)
        assert (status.status, status.reason, status.operator) == ("outage", "spike", None), scope
    incident = Incident.objects.get(service=worldwide_service)
    assert incident.operator is None
    # A reviewer reads Telecom Italia 70%, usually 56% (its share of the service's Italian
    # reports, as the ISP verdict compares it), not usually 28%.
    (item,) = queue_items([incident], now=T0 + 12 * MINUTE)
    name, share, usual = item.signals.top_operators[0]
    assert name == "Telecom Italia S.p.A."
    assert share == pytest.approx(0.7)
    assert usual == pytest.approx(ITALY_USUAL["Telecom Italia S.p.A."])


@pytest.mark.django_db
def test_one_operators_customers_far_above_its_share_in_their_country_are_still_an_isp_outage(
    client, worldwide_service, time_machine
):
    # 150 Italians, 80% of them Fastweb customers, where Fastweb has 10% of the Italian usual.
    crowd = italian_crowd(
        {"Fastweb SpA": 120, "Telecom Italia S.p.A.": 15, "Vodafone Italia S.p.A.": 10, "WIND TRE S.P.A.": 5}
    )

    send_over_ten_minutes(client, time_machine, crowd, REPORT)
    detect_after_the_burst(time_machine)

    for scope in ("", "IT"):
        status = ServiceStatus.objects.get(service=worldwide_service, scope=scope)
        assert (status.status, status.reason) == ("warning", "isp"), scope
        # Its usual share is that of the Italian reports, where the spike comes from.
        assert status.operator["name"] == "Fastweb"
        assert (status.operator["share"], status.operator["usual_share"]) == (0.8, 0.1)
    assert Incident.objects.get(service=worldwide_service).operator["name"] == "Fastweb"


def vodafone_16_flood() -> list[str]:
    """600 addresses of Vodafone Italia's 2.33.0.0/16, in 300 /24s (the issue's attack)."""
    return [f"2.33.{i}.{j}" for i in range(150) for j in (10, 11)] + [
        f"2.33.{150 + i}.{j}" for i in range(75) for j in (10, 11, 12, 13)
    ]


@pytest.mark.django_db
def test_one_exclude_action_by_operator_removes_the_16_flood_that_opened_an_incident(
    client, reviewer_client, chatgpt, settings, time_machine
):
    # No learned mix yet (a new service): the verdict cannot compare, the flood opens an incident.
    settings.REPORT_RATE_LIMIT = "30/h"
    flat_baseline(chatgpt, per_minute=0.5)
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - MINUTE)
    send_over_ten_minutes(client, time_machine, vodafone_16_flood(), REPORT)
    detect_after_the_burst(time_machine)
    incident = Incident.objects.get(service=chatgpt)

    response = reviewer_client.post(
        f"/review/incidents/{incident.pk}/exclude-network/", {"prefix": "operator:Vodafone Italia S.p.A."}
    )

    assert response.status_code == 302
    assert (
        Report.objects.filter(service=chatgpt, abusive=False, created_at__gte=incident.started_at).count()
        == 0
    )
    assert ReviewAction.objects.filter(kind="exclude_network").count() == 1


@pytest.mark.django_db
def test_the_review_signals_show_operators_against_their_usual_share(client, quiet_service, time_machine):
    from outages.review.selectors import queue_items

    crowd = spread("2.40.0.0/13", 75, step=27) + spread("37.176.0.0/13", 75, step=23)
    send_over_ten_minutes(client, time_machine, crowd, REPORT)
    detect_after_the_burst(time_machine)

    (item,) = queue_items([Incident.objects.get(service=quiet_service)], now=T0 + 12 * MINUTE)
    assert item.signals.operators == 1 and item.signals.prefixes == 2
    assert item.signals.top_operators == [("Vodafone Italia S.p.A.", 1.0, 0.25)]


@pytest.mark.django_db
def test_one_operator_concentrated_in_several_services_spikes_is_likely_an_isp_problem(
    client, quiet_service, time_machine
):
    other = Service.objects.exclude(pk=quiet_service.pk).filter(is_active=True).first()
    flat_baseline(other, per_minute=0.5)
    usual_mix(other)
    crowd = spread("2.40.0.0/13", 75, step=27) + spread("37.176.0.0/13", 75, step=23)
    for i, ip in enumerate(crowd):
        time_machine.move_to(T0 + dt.timedelta(seconds=600 * i / len(crowd)), tick=False)
        post_report(client, REPORT, ip=ip)
        post_report(client, {"service": other.slug, "problem": "login"}, ip=ip)
    detect_after_the_burst(time_machine)

    incident = Incident.objects.get(service=quiet_service)
    assert incident.operator["services"] == 2
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "likely an ISP problem (Vodafone Italia, 2 services)" in page
    api = client.get("/api/v1/incidents/", {"service": "chatgpt"}).json()
    assert api[0]["operator"] == {"asn": 30722, "name": "Vodafone Italia", "share": 1.0, "usual_share": 0.25}


def test_the_pass_reads_the_verdicts_evidence_of_many_services_in_two_queries(
    client, quiet_service, time_machine, django_assert_num_queries
):
    from outages.detection_pass import _PassState
    from outages.flood import evidence_reports, evidence_reports_of, usual_mixes, window_verdict

    whatsapp = Service.objects.get(slug="whatsapp")
    crowd = national_crowd(40)
    send_over_ten_minutes(client, time_machine, crowd[:25], REPORT)
    send_over_ten_minutes(client, time_machine, crowd[25:], REPORT | {"service": "whatsapp"})
    minute = T0 + 10 * MINUTE
    ids = [quiet_service.pk, whatsapp.pk]

    one_by_one = {pk: evidence_reports(pk, minute) for pk in ids}
    assert evidence_reports_of(ids, minute) == one_by_one
    assert [len(one_by_one[pk]) for pk in ids] == [25, 15]

    state = _PassState()
    with django_assert_num_queries(2):  # the evidence, the usual mixes
        state.verdicts_prefetch(ids, minute)
    with django_assert_num_queries(0):
        verdict = state.verdict(quiet_service.pk, minute)
    assert verdict == window_verdict(
        one_by_one[quiet_service.pk], T0 - 49 * MINUTE, usual_mixes(quiet_service.pk)
    )
