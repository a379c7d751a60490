"""The one sparkline (outages.sparkline): home's rows and the review queue's charts draw with it."""

from __future__ import annotations

from outages.review.selectors import Chart
from outages.sparkline import HOME_HEIGHT, HOME_WIDTH, sparkline_points


def test_the_highest_value_touches_the_top_margin_and_zero_the_bottom_one():
    assert sparkline_points([0, 4, 2], width=HOME_WIDTH, height=HOME_HEIGHT) == "0.0,26.0 60.0,2.0 120.0,14.0"


def test_a_quiet_series_stays_at_the_bottom_instead_of_filling_the_height():
    assert sparkline_points([0, 0], width=10, height=10) == "0.0,8.0 10.0,8.0"
    assert sparkline_points([0, 0.5], width=10, height=10) == "0.0,8.0 10.0,5.0"


def test_a_missing_value_is_left_out_of_the_line():
    assert sparkline_points([2, None, 2], width=10, height=10) == "0.0,2.0 10.0,2.0"


def test_the_review_chart_draws_reports_and_baseline_on_one_scale():
    chart = Chart(counts=[0.0, 8.0, 4.0], baseline=[2.0, None, 2.0], marked_from=1, marked_to=2)

    assert chart.count_points == sparkline_points([0.0, 8.0, 4.0], width=240, height=48)
    # The baseline is scaled to the reports' peak of 8, not to its own peak of 2.
    assert chart.baseline_points == "0.0,35.0 240.0,35.0"
    assert (chart.band_x, chart.band_width) == ("120.0", "120.0")
