"""The automatic retry's delay: a range of seconds (5-60 by default), one draw per re-run."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from api.settings import Settings
from api.supervision.processes import farm_env
from contract.retry_delay import delay_range, draw
from flows.settings import WorkerSettings


def test_a_range_a_single_value_and_the_default():
    assert delay_range("5-60") == (5.0, 60.0)
    assert delay_range("1.5") == (1.5, 1.5)
    assert delay_range(" 0-0.2 ") == (0.0, 0.2)
    assert WorkerSettings().auto_retry_delay_seconds == "5-60"


@pytest.mark.parametrize("text", ["60-5", "-1", "a-b", "5-", "1-4000", ""])
def test_bad_ranges_are_refused_at_start_up_naming_the_rule(text, tmp_path, monkeypatch):
    with pytest.raises(ValueError):
        delay_range(text)
    monkeypatch.setenv("PHONEFARM_AUTO_RETRY_DELAY_SECONDS", text)
    with pytest.raises(ValidationError, match="automatic retry's delay"):
        Settings(data_dir=tmp_path)


def test_each_re_run_draws_its_own_delay_within_the_range():
    rng = random.Random(7)
    delays = [draw("5-60", rng) for _ in range(200)]
    assert all(5 <= delay <= 60 for delay in delays)
    assert max(delays) - min(delays) > 30  # spread over the range, not one fixed value


def test_the_service_hands_its_range_to_the_flow_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PHONEFARM_AUTO_RETRY_DELAY_SECONDS", "2-3")
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setenv("PHONEFARM_AUTO_RETRY_DELAY_SECONDS", farm_env(settings)["PHONEFARM_AUTO_RETRY_DELAY_SECONDS"])
    assert WorkerSettings().auto_retry_delay_seconds == "2-3"
