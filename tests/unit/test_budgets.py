"""Action budgets: sliding hour/day windows, when a spent budget frees, per-account overrides, the shipped file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from api.domain.budgets import (BudgetFileError, Spent, first_wait, limits_for, load_defaults,
                                needs, spent_by)

NOW = datetime(2026, 3, 1, 14, 0, tzinfo=timezone.utc)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_the_shipped_defaults_load_and_cover_every_platform_action_and_window():
    defaults = load_defaults()
    assert set(defaults) == {"tiktok", "instagram"}
    assert all(len(limits) == 10 and all(n > 0 for n in limits.values()) for limits in defaults.values())
    assert defaults["tiktok"][("follow", "hour")] <= defaults["tiktok"][("follow", "day")]


@pytest.mark.parametrize("text, named", [
    ("tiktok: {}\ninstagram: {}\n", "tiktok.follow"),
    ("tiktok: {follow: {hour: -1, day: 1}}\n", "tiktok.follow.hour"),
    ("tiktok: [1\n", "tiktok: [1"),
])
def test_a_bad_budgets_file_is_refused_naming_the_entry(tmp_path, text, named):
    path = tmp_path / "budgets.yaml"
    path.write_text(text)
    with pytest.raises(BudgetFileError) as error:
        load_defaults(path)
    assert named.split(".")[0] in str(error.value)
    if "." in named:
        assert named in str(error.value)


def test_a_full_hour_waits_until_its_oldest_action_leaves_the_window():
    limits = {("follow", "hour"): 3, ("follow", "day"): 50}
    history = [Spent(ago(50), "follow", 1), Spent(ago(20), "follow", 1), Spent(ago(5), "follow", 1)]
    wait = first_wait(limits, history, {"follow": 1}, NOW)
    assert (wait.action, wait.window, wait.used, wait.limit) == ("follow", "hour", 3, 3)
    assert wait.frees_at == ago(50) + timedelta(hours=1)
    assert wait.remark() == "waiting: follows 3/3 this hour, frees at 14:10 UTC"


def test_actions_older_than_the_window_do_not_count():
    limits = {("follow", "hour"): 1}
    assert first_wait(limits, [Spent(ago(61), "follow", 1)], {"follow": 1}, NOW) is None
    assert first_wait(limits, [Spent(ago(59), "follow", 1)], {"follow": 1}, NOW) is not None


def test_a_batch_of_actions_frees_when_enough_of_it_has_left_the_window():
    limits = {("like", "hour"): 10}
    history = [Spent(ago(40), "like", 7), Spent(ago(10), "like", 3)]  # a warm-up that liked 7, then 3
    assert first_wait(limits, history, {"like": 1}, NOW).frees_at == ago(40) + timedelta(hours=1)


def test_the_budget_freeing_last_is_the_one_named():
    limits = {("follow", "hour"): 2, ("follow", "day"): 2}
    history = [Spent(ago(600), "follow", 1), Spent(ago(30), "follow", 1)]
    wait = first_wait(limits, history, {"follow": 1}, NOW)
    assert (wait.window, wait.used, wait.frees_at) == ("day", 2, ago(600) + timedelta(days=1))


def test_other_actions_do_not_spend_this_ones_budget():
    limits = {("follow", "hour"): 1, ("like", "hour"): 1}
    assert first_wait(limits, [Spent(ago(1), "like", 5)], {"follow": 1}, NOW) is None


def test_a_zero_budget_frees_only_when_raised():
    wait = first_wait({("post", "day"): 0}, [], {"post": 1}, NOW)
    assert wait.frees_at is None and wait.remark() == "waiting: posts 0/0 this day, frees when the budget is raised"


def test_an_accounts_own_numbers_replace_its_platforms_defaults():
    defaults = load_defaults()
    limits = limits_for(defaults, "instagram", {"follow_per_hour": 2, "like_per_day": None})
    assert limits[("follow", "hour")] == 2
    assert limits[("like", "day")] == defaults["instagram"][("like", "day")]
    assert limits[("follow", "day")] == defaults["instagram"][("follow", "day")]


def test_what_a_task_needs_before_it_runs():
    assert needs("follow", {}) == {"follow": 1}
    assert needs("post", {}) == {"post": 1}
    assert needs("warmup", {"like_probable": 50, "floow_probable": 0}) == {"like": 1}
    assert needs("warmup", {}) == {}


def test_what_a_script_did_is_read_from_its_summary():
    warm = "watched 12 videos, liked 7, followed 2, bookmarked 1, commented 0"
    assert spent_by("warmup", warm) == {"like": 7, "follow": 2}
    assert spent_by("follow", "now following @x") == {"follow": 1}
    assert spent_by("follow", "already following @x") == {}
    assert spent_by("unfollow", "unfollowed @x") == {"unfollow": 1}
    assert spent_by("post", "posted") == {"post": 1}
