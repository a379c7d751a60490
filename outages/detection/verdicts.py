"""The flood verdict: who is behind a spike. From the network hashes and operators of the
counted reports behind it, against the service's usual mix, a spike is a crowd (an outage of
the service), a flood (a few sites, or rare operators such as hosting networks), a handful of
reporters (fewer sites than a crowd needs), or one ISP's problem. Pure: no ORM, no clock.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from scipy import special


@dataclass(frozen=True)
class FloodParams:
    # A spike whose three busiest sites (IPv6 /48, IPv4 /24) sent this share of its reports
    # comes from a few places (bots, one office, one /60 split into /64s), not a crowd. Only
    # sites that sent more than one report count among the busiest: five reports from five
    # households are a handful (the floor below), not a flood.
    top_sites: int = 3
    site_share: float = 0.5
    # Operators the service hardly ever hears from (each below this usual share, hosting
    # networks typically) sending at least this share of a spike: bots on rented servers...
    rare_usual_share: float = 0.02
    rare_share: float = 0.5
    # ...when that is far more than they usually send together. The long tail of small
    # operators is a large usual share (about half of a worldwide service's reports, a fifth
    # of an Italian ISP's), so the spike's rare share is tested against their combined usual
    # share plus `rare_margin` (room for operators the learned mix has never seen): a flood
    # when so many rare reports would happen by chance with probability under
    # `rare_p_value` (binomial upper tail). Ordinary blocks of 40 reports: under 2% floods
    # for every simulated service (bench/flood_calibration.py).
    rare_margin: float = 0.15
    rare_p_value: float = 0.001
    # The floor a crowd must reach: this many distinct sites behind the spike, or it is a
    # handful of reporters (a warning at most, no incident). 15 residential addresses, one
    # report each, stay below it; 40 people of the service's usual audience clear it even
    # when their operators are small ones (docs/detection.md, section 7).
    min_sites: float = 25
    # A site whose reports all come from rare operators (hosting networks, as the usual mix
    # tells them) counts for this much of a site toward `min_sites`: rented addresses are
    # cheap, a household is not.
    rare_site_weight: float = 0.5
    # One operator this concentrated, and this far above its usual share, is an ISP's
    # problem, not the service's...
    operator_share: float = 0.6
    operator_above_usual: float = 0.35
    operator_ratio: float = 2.0
    # ...unless one announced prefix carries this share of that operator's reports, and this
    # many times the prefix's usual share of the operator's reports: one block of addresses
    # (300 /24s of one /16 its customers hardly use) is far fewer networks than a crowd.
    # Compared within the operator, since a big operator's customers usually sit in a few
    # large prefixes (Fastweb's 93.32.0.0/11 carries about half of them): an outage of part
    # of its network concentrates on prefixes where its customers always are.
    prefix_share: float = 0.8
    prefix_ratio: float = 5.0
    # An IPv6 /48 of an operator the service usually hears from (a mobile carrier handing one
    # /64 to each device) counts each of its /64s as a site, up to this many per /48, when
    # the flood check asks whether a few sites sent most reports: people behind one carrier's
    # /48 are not one site. A rare operator's /48 (a rented server's) stays one site. Toward
    # the floor (`min_sites`) a /48 counts once: a household holds a /56 or a /48 and can
    # send from as many /64s as it likes, so its /64s are no evidence of more people.
    v6_sites_per_48: int = 8


@dataclass(frozen=True)
class SpikeReport:
    """One counted report behind a spike: its network hashes and operator ("" unknown)."""

    network: str  # /24 or /64
    site: str  # /48, or the /24 again
    prefix: str  # announced prefix hash, "" unknown
    operator: str  # operator name, "" unknown
    asn: int | None = None
    country: str = ""  # where it came from, "" unknown
    city: int | None = None  # the city it was placed in (geo.City id), None unknown


@dataclass(frozen=True)
class OperatorShare:
    name: str
    asn: int | None
    share: float  # of the spike's reports
    # of the service's usual reports from where the spike's come from (usual_share_here);
    # None without a learned mix
    usual_share: float | None
    reports: int = 0


@dataclass(frozen=True)
class FloodVerdict:
    """Whether a spike is an outage of the service (`holds` False), a flood, or an ISP's."""

    flood: bool = False
    # "few_sites", "rare_operators", "one_prefix" (a flood), "few_reporters" (not a flood:
    # fewer sites than FloodParams.min_sites, `isp` may be set too), "" (a crowd, or one
    # ISP's customers)
    why: str = ""
    isp: OperatorShare | None = None  # the operator a concentrated spike comes from
    reports: int = 0
    networks: int = 0
    sites: int = 0
    prefixes: int = 0
    operators: int = 0
    top_operators: tuple[OperatorShare, ...] = ()
    # Reports of a flood set aside: the verdict is the one on the crowd beside it, which
    # spikes on its own (flood_verdict's `crowd_spikes`). 0 when nothing was set aside.
    flood_beside: int = 0

    @property
    def few_reporters(self) -> bool:
        """True when fewer distinct sites stand behind the spike than a crowd needs."""
        return self.why == "few_reporters"

    @property
    def held_back(self) -> bool:
        """True when the spike's reports must not open, extend or reopen an incident: a
        flood, or a handful of reporters."""
        return self.flood or self.few_reporters

    @property
    def holds(self) -> bool:
        """True when the spike must not show as the service's outage."""
        return self.held_back or self.isp is not None


def usual_mix(counts: Mapping[str, float]) -> dict[str, float]:
    """Shares from counts per key (operator or prefix) over a service's history."""
    total = float(sum(counts.values()))
    return {key: value / total for key, value in counts.items()} if total > 0 else {}


def counts_verdict(reports: float, params: FloodParams = FloodParams()) -> FloodVerdict:
    """The verdict on `reports` counted reports whose networks are unknown (a replayed file).

    Every report comes from one site at most, so fewer than `params.min_sites` of them are a
    handful of reporters whatever their networks: what `flood_verdict` finds on the same
    reports live. More may be a crowd or a flood, and without their networks nothing tells
    which: a crowd.
    """
    n = round(reports)
    if 0 < n < params.min_sites:
        return FloodVerdict(why="few_reporters", reports=n)
    return FloodVerdict(reports=n)


def flood_verdict(
    reports: Sequence[SpikeReport],
    *,
    usual_operators: Mapping[str, float],
    usual_prefixes: Mapping[str, float],
    usual_in_countries: Mapping[str, Mapping[str, float]] | None = None,
    params: FloodParams = FloodParams(),
    crowd_spikes: Callable[[int], bool] | None = None,
) -> FloodVerdict:
    """The verdict on the counted reports behind a spike, from the distinct sites, prefixes
    and operators behind it and how its operator mix compares with the service's usual mix:
    worldwide (`usual_operators`) for rare operators, and for the operator a spike is
    concentrated on, its usual share among the reports from where the spike's come from
    (`usual_in_countries`: each country's operator shares, usual_share_here).

    A flood must not hide a crowd: with `crowd_spikes` (whether that many reports over the
    verdict's window would be a spike by themselves, as the detector tests one), the
    reports a flood rule pins down (the busiest sites, the rare operators, the one prefix)
    are set aside, and when the rest would spike alone and is a crowd (or one ISP's
    customers), the verdict is the rest's, with `flood_beside` counting what was set aside.

    With no reports there is no evidence: not a flood, and no floor (a replayed file, which
    has counts and no networks, asks `counts_verdict`). Without a learned mix
    (`usual_operators` empty) only the site rules can hold a spike, and every site counts
    whole toward the floor.
    """
    n = len(reports)
    if n == 0:
        return FloodVerdict()
    learned = bool(usual_operators)

    def rare(name: str) -> bool:
        return learned and usual_operators.get(name, 0.0) < params.rare_usual_share

    def site_of(report: SpikeReport) -> str:
        site = report.site or report.network
        # A usual operator's IPv6 /48 (its /64s differ from it): each device's /64 is a
        # site, folded into at most v6_sites_per_48 per /48.
        if learned and report.operator and not rare(report.operator) and report.network != site:
            return f"{site}/{zlib.crc32(report.network.encode()) % params.v6_sites_per_48}"
        return site

    def floor_site_of(report: SpikeReport) -> str:
        return report.site or report.network

    sites = Counter(site_of(report) for report in reports)
    operators = Counter(report.operator for report in reports)
    prefixes = Counter(report.prefix for report in reports if report.prefix)
    asn_of = {report.operator: report.asn for report in reports}
    places = Counter(report.country for report in reports)

    def share_of(name: str, count: int) -> OperatorShare:
        usual = (
            usual_share_here(
                name, places, usual_operators=usual_operators, usual_in_countries=usual_in_countries or {}
            )
            if learned
            else None
        )
        return OperatorShare(
            name=name, asn=asn_of.get(name), share=count / n, usual_share=usual, reports=count
        )

    top = tuple(share_of(name, count) for name, count in operators.most_common(5) if name)
    # The counts behind the spike: a crowd, not a flood, until a rule below says otherwise.
    crowd = FloodVerdict(
        reports=n,
        networks=len({report.network for report in reports}),
        sites=len(sites),
        prefixes=len(prefixes),
        operators=len([name for name in operators if name]),
        top_operators=top,
    )

    def flood_of(why: str, flooding: Callable[[SpikeReport], bool]) -> FloodVerdict:
        """A flood, unless the reports beside what `flooding` pins down spike by themselves
        and are a crowd: then the verdict on those."""
        flood = replace(crowd, flood=True, why=why)
        if crowd_spikes is None:
            return flood
        rest = [report for report in reports if not flooding(report)]
        if not rest or not crowd_spikes(len(rest)):
            return flood
        beside = flood_verdict(
            rest,
            usual_operators=usual_operators,
            usual_prefixes=usual_prefixes,
            usual_in_countries=usual_in_countries,
            params=params,
            crowd_spikes=crowd_spikes,
        )
        return (
            flood if beside.held_back else replace(beside, flood_beside=n - len(rest) + beside.flood_beside)
        )

    busiest_sites = {site for site, count in sites.most_common(params.top_sites) if count > 1}
    busiest = sum(sites[site] for site in busiest_sites)
    if busiest >= params.site_share * n:
        return flood_of("few_sites", lambda report: site_of(report) in busiest_sites)
    if learned:
        rare_reports = sum(count for name, count in operators.items() if rare(name))
        if (
            rare_reports >= params.rare_share * n
            and binomial_tail(rare_reports, n, usual_rare_share(usual_operators, params))
            < params.rare_p_value
        ):
            return flood_of("rare_operators", lambda report: rare(report.operator))
    # The floor counts what a household cannot multiply: an IPv6 /48 once, however many of
    # its /64s report; an IPv4 site (a /24, or a carrier /24's address slot) as it is. A site
    # counts whole when any of its reports comes from an operator the service usually hears
    # from. Sites of rare operators count whole too as far as the service's long tail usually
    # brings them (its usual rare share, plus the margin), beyond that for little. (Without
    # the margin: 16 households and 14 rented servers stay a handful.)
    floor_sites = {floor_site_of(report) for report in reports}
    usual_sites = {floor_site_of(report) for report in reports if not rare(report.operator)}
    rare_sites = len(floor_sites) - len(usual_sites)
    expected_rare = min(
        rare_sites, int(usual_rare_share(usual_operators, params, margin=0.0) * len(floor_sites))
    )
    weighted = len(usual_sites) + expected_rare + params.rare_site_weight * (rare_sites - expected_rare)
    if weighted < params.min_sites:
        # Held back like a flood; still named for the operator it is concentrated on, if any.
        crowd = replace(crowd, why="few_reporters")
    if not learned:
        return crowd
    if top:
        lead = top[0]
        usual = lead.usual_share or 0.0
        if (
            lead.share >= params.operator_share
            and lead.share >= usual + params.operator_above_usual
            and lead.share >= params.operator_ratio * usual
        ):
            within = Counter(r.prefix for r in reports if r.operator == lead.name and r.prefix)
            if within:
                prefix, count = within.most_common(1)[0]
                share = count / lead.reports
                # The prefix's usual share of the operator's own reports (both worldwide).
                everywhere = usual_operators.get(lead.name, 0.0)
                usual_within = usual_prefixes.get(prefix, 0.0) / everywhere if everywhere > 0 else 0.0
                if share >= params.prefix_share and share >= params.prefix_ratio * usual_within:
                    return flood_of(
                        "one_prefix", lambda report: report.operator == lead.name and report.prefix == prefix
                    )
            return replace(crowd, isp=lead)
    return crowd


def usual_share_here(
    name: str,
    places: Mapping[str, int],
    *,
    usual_operators: Mapping[str, float],
    usual_in_countries: Mapping[str, Mapping[str, float]],
) -> float:
    """The operator's usual share of the service's reports from where a spike's reports come
    from (`places`: the spike's reports per country, "" unknown): its usual share in each
    country, weighted by the spike's reports from there; a country without a mix of its own,
    and reports without a country, are read against the worldwide mix. Operators are
    national: Telecom Italia is 28% of a worldwide service's reports and 55% of its Italian
    ones, so an Italian crowd that is 63% TIM is the service's Italian audience, not TIM's
    outage. For a spike from one country this is the country's own mix, for a worldwide one
    the world's mix as that spike is spread, so one rule serves every scope."""
    n = sum(places.values())
    if n == 0:
        return usual_operators.get(name, 0.0)
    return (
        sum(
            count * usual_in_countries.get(country, usual_operators).get(name, 0.0)
            for country, count in places.items()
        )
        / n
    )


def usual_rare_share(
    usual_operators: Mapping[str, float], params: FloodParams, *, margin: float | None = None
) -> float:
    """The share of a service's reports its rare operators usually send together, plus the
    margin for operators its learned mix has never seen (params.rare_margin unless given; 0
    without a learned mix)."""
    if not usual_operators:
        return 0.0
    usual = sum(share for share in usual_operators.values() if share < params.rare_usual_share)
    return min(1.0, usual + (params.rare_margin if margin is None else margin))


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how likely `k` or more of `n` reports would be of a
    kind that makes a share `p` of the usual ones: I_p(k, n - k + 1), the regularised
    incomplete beta (scipy), as the score's negative binomial tail."""
    if k <= 0 or p >= 1.0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    return float(special.betainc(k, n - k + 1, p))
