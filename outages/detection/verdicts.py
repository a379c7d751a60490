"""The flood verdict: who is behind a spike. From the network hashes and operators of the
counted reports behind it, against the service's usual mix, a spike is a crowd (an outage of
the service), a flood (a few sites, or rare operators such as hosting networks), a handful of
reporters (fewer sites than a crowd needs), or one ISP's problem. Pure: no ORM, no clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class FloodParams:
    # A spike whose three busiest sites (IPv6 /48, IPv4 /24) sent this share of its reports
    # comes from a few places (bots, one office, one /60 split into /64s), not a crowd.
    top_sites: int = 3
    site_share: float = 0.5
    # Operators the service hardly ever hears from (each below this usual share, hosting
    # networks typically) sending this share of a spike: bots on rented servers.
    rare_usual_share: float = 0.02
    rare_share: float = 0.5
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
    # ...unless one announced prefix of it is as concentrated against its own usual share:
    # one block of addresses (300 /24s of one /16) is far fewer networks than a crowd.
    prefix_share: float = 0.8
    prefix_above_usual: float = 0.5


@dataclass(frozen=True)
class SpikeReport:
    """One counted report behind a spike: its network hashes and operator ("" unknown)."""

    network: str  # /24 or /64
    site: str  # /48, or the /24 again
    prefix: str  # announced prefix hash, "" unknown
    operator: str  # operator name, "" unknown
    asn: int | None = None


@dataclass(frozen=True)
class OperatorShare:
    name: str
    asn: int | None
    share: float  # of the spike's reports
    usual_share: float | None  # of the service's usual reports; None without a learned mix
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


def flood_verdict(
    reports: Sequence[SpikeReport],
    *,
    usual_operators: Mapping[str, float],
    usual_prefixes: Mapping[str, float],
    params: FloodParams = FloodParams(),
) -> FloodVerdict:
    """The verdict on the counted reports behind a spike, from the distinct sites, prefixes
    and operators behind it and how its operator mix compares with the service's usual mix.

    With no reports (a replayed file has no networks) there is no evidence: not a flood, and
    no floor. Without a learned mix (`usual_operators` empty) only the site rules can hold a
    spike, and every site counts whole toward the floor.
    """
    n = len(reports)
    if n == 0:
        return FloodVerdict()
    sites = Counter(report.site or report.network for report in reports)
    operators = Counter(report.operator for report in reports)
    prefixes = Counter(report.prefix for report in reports if report.prefix)
    asn_of = {report.operator: report.asn for report in reports}
    learned = bool(usual_operators)

    def share_of(name: str, count: int) -> OperatorShare:
        usual = usual_operators.get(name, 0.0) if learned else None
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
    if sum(count for _, count in sites.most_common(params.top_sites)) >= params.site_share * n:
        return replace(crowd, flood=True, why="few_sites")

    def rare(name: str) -> bool:
        return learned and usual_operators.get(name, 0.0) < params.rare_usual_share

    if learned and sum(count for name, count in operators.items() if rare(name)) >= params.rare_share * n:
        return replace(crowd, flood=True, why="rare_operators")
    # A site counts whole when any of its reports comes from an operator the service usually
    # hears from, else for little.
    usual_sites = {report.site or report.network for report in reports if not rare(report.operator)}
    weighted = len(usual_sites) + params.rare_site_weight * (len(sites) - len(usual_sites))
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
            if prefixes:
                prefix, count = prefixes.most_common(1)[0]
                share = count / n
                if (
                    share >= params.prefix_share
                    and share >= usual_prefixes.get(prefix, 0.0) + params.prefix_above_usual
                ):
                    return replace(crowd, flood=True, why="one_prefix")
            return replace(crowd, isp=lead)
    return crowd
