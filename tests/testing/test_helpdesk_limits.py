"""What the helpdesk simulators share: how much of a limit is left."""

from __future__ import annotations

from supporter.testing.helpdesk_limits import Spending


def test_what_is_left_counts_the_units_spent_within_the_window() -> None:
    spending = Spending()
    assert spending.remaining(0.0, 10, 60.0) == 10
    spending.spend(0.0, 2)
    spending.spend(30.0, 3)
    assert spending.remaining(30.0, 10, 60.0) == 5
    # The first spend leaves the window at 60 s, the second at 90 s.
    assert spending.remaining(60.0, 10, 60.0) == 7
    assert spending.remaining(90.0, 10, 60.0) == 10


def test_what_is_left_is_never_below_nothing() -> None:
    spending = Spending()
    spending.spend(0.0, 4)
    assert spending.remaining(1.0, 3, 60.0) == 0
