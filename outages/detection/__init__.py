"""Spike detection for report counts: seasonal baselines and a multi-window surprise score.

Pure functions over numpy arrays: no ORM, no settings, no clock. Time is always an argument
(UTC bucket starts as ``datetime64`` or integer epoch seconds, or epoch minutes). The live
Celery pass (outages.detection_pass), the replay behind ``manage.py backtest``
(outages.replay) and the quality benchmark all call these functions. The statistic is
explained for users in ``docs/detection.md``.

One job per module; every public name is re-exported here, so callers write
``from outages import detection`` and ``detection.panel_detect(...)``:

- ``calendar``: UTC moments to local days, weekdays and slots in a time zone (``local_fields``).
- ``profiles``: ``BaselineParams``, ``Profile``, fitting (``profile_build``, ``replay_profiles``)
  and lookup (``profile_expected``, ``expected_per_minute``).
- ``scoring``: ``DetectParams``, the multi-window score (``detect``, ``detect_sliding``,
  ``window_scores``; a raised window and an elevated bucket: ``window_raised``,
  ``bucket_elevated``; whether a count alone would spike over a window: ``count_spikes``; a
  city's usual beside the rest of its service: ``rest_ratio``), its tails and trailing sums, the status tiers with hysteresis
  (``evidence_tiers``, ``status_tier``).
- ``calibration``: each series' bars from its own recent evidence (``evidence_bars``).
- ``panel``: ``panel_detect`` and its ``Panel``, ``hold``, ``city_bar``, ``city_carries_spike``, the aligned 15-minute
  counts (``aligned_running_sum``), ``BUCKET_MINUTES`` and ``SPIKE_HOLD_MINUTES``.
- ``verdicts``: the flood verdict (``flood_verdict``, ``SpikeReport``, ``OperatorShare``,
  ``FloodVerdict``, ``usual_mix``, ``usual_share_here``) and what counts alone tell it
  (``counts_verdict``).

How the live path uses it
-------------------------
Nightly, per service (outages.baselines): ``profile_build`` on the last six weeks of
``BUCKET_MINUTES`` (5-minute) bucket counts, national row first and one row per city and
country (zero-filled: a missing bucket is "no data", not zero); each row's ``Profile`` is
stored. ``replay_profiles`` does the same at every local midnight of a replayed file.

Every minute (outages.detection_pass), for all active services and their cities at once: the
per-minute counts of the last hours and the stored profiles spread over their minutes go to
``panel_detect``. It scores the sliding 5-minute bucket ending at every minute
(``detect_sliding``, which is ``detect`` per phase), holds a spike for
``SPIKE_HOLD_MINUTES`` (``hold``), tests each city against its bar (``city_bar``), and
returns a ``Panel``: scores, held spikes, the first minute of the evidence behind each, and
the clock-aligned 15-minute counts an incident's peak is read from
(``aligned_running_sum``). outages.incidents turns a ``Panel`` into incidents;
``status_tier`` turns a score into ``ok`` / ``warning`` / ``outage``. Before a spike opens
an incident, ``flood_verdict`` judges the networks and operators behind it.
"""

from __future__ import annotations

from outages.detection.calendar import DAY, epoch_seconds, local_fields, utc_offsets
from outages.detection.calibration import CalibrationParams, evidence_bars
from outages.detection.panel import (
    BUCKET_MINUTES,
    CARRY_MIN_RATIO,
    CARRY_MIN_REPORTS,
    SPIKE_HOLD_MINUTES,
    Panel,
    aligned_running_sum,
    city_bar,
    city_carries_spike,
    hold,
    panel_detect,
)
from outages.detection.profiles import (
    CITY_MIN_REPORTS,
    BaselineParams,
    Profile,
    city_profile_min_reports,
    expected_per_minute,
    profile_build,
    profile_expected,
    replay_profiles,
)
from outages.detection.scoring import (
    MIN_TAIL,
    STATUS_MEMORY_MINUTES,
    TIERS,
    Detection,
    DetectParams,
    bucket_elevated,
    count_spikes,
    detect,
    detect_sliding,
    evidence_tiers,
    rest_ratio,
    status_tier,
    trailing_sum,
    window_buckets,
    window_raised,
    window_scores,
)
from outages.detection.verdicts import (
    FloodParams,
    FloodVerdict,
    OperatorShare,
    SpikeReport,
    counts_verdict,
    flood_verdict,
    usual_mix,
    usual_share_here,
)

__all__ = [
    "BUCKET_MINUTES",
    "CARRY_MIN_RATIO",
    "CARRY_MIN_REPORTS",
    "CITY_MIN_REPORTS",
    "DAY",
    "MIN_TAIL",
    "SPIKE_HOLD_MINUTES",
    "STATUS_MEMORY_MINUTES",
    "TIERS",
    "BaselineParams",
    "CalibrationParams",
    "DetectParams",
    "Detection",
    "FloodParams",
    "FloodVerdict",
    "OperatorShare",
    "Panel",
    "Profile",
    "SpikeReport",
    "aligned_running_sum",
    "bucket_elevated",
    "city_bar",
    "city_carries_spike",
    "city_profile_min_reports",
    "count_spikes",
    "counts_verdict",
    "detect",
    "detect_sliding",
    "epoch_seconds",
    "evidence_bars",
    "evidence_tiers",
    "expected_per_minute",
    "flood_verdict",
    "hold",
    "local_fields",
    "panel_detect",
    "profile_build",
    "profile_expected",
    "replay_profiles",
    "rest_ratio",
    "status_tier",
    "trailing_sum",
    "usual_mix",
    "usual_share_here",
    "utc_offsets",
    "window_buckets",
    "window_raised",
    "window_scores",
]
