"""tests.harness.until, the suite's one polling helper."""

from __future__ import annotations

import itertools

import pytest

from tests.harness import until


def test_the_first_true_value_is_returned():
    counter = itertools.count()
    assert until(lambda: next(counter) >= 3 and "three", 5, interval=0) == "three"


def test_accept_returns_the_first_accepted_value_and_a_failure_shows_the_last_one():
    counter = itertools.count()
    assert until(lambda: next(counter), 5, interval=0, accept=lambda n: n == 4) == 4
    with pytest.raises(AssertionError, match=r"^nine not met within 0.05 s: \d+$"):
        until(lambda: next(counter), 0.05, "nine", interval=0.01, accept=lambda n: n < 0)


def test_a_message_function_makes_the_failure_s_message_from_the_last_value():
    with pytest.raises(AssertionError, match=r"^still 'waiting'$"):
        until(lambda: "waiting", 0.05, lambda value: f"still {value!r}", interval=0.01, accept=lambda v: v == "done")
    with pytest.raises(AssertionError, match=r"^the condition not met within 0.05 s$"):
        until(lambda: False, 0.05, "the condition", interval=0.01)
