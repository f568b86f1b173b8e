"""Action budgets at run creation, over a real index: a task over its account's budget gets no run and says why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from api.domain.account_marks import AccountMarks
from api.domain.accounts import AccountBook
from api.domain.budget_holds import ActionBudgets
from api.domain.budgets import load_defaults
from api.domain.mirror import RunMirror
from api.domain.errors import ApiError
from api.gateways.index import Account, Index, NewTask, RunState
from api.rest.schemas import AccountPatch, parse_body

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def setup(tmp_path, follows: int):
    index = Index(tmp_path / "index.db")
    index.accounts.save_account(Account("shop_eu", "tiktok", "phone-1", True))
    index.accounts.set_budgets("shop_eu", {"follow_per_hour": 1})
    ids = index.tasks.reserve_tasks([NewTask("phone-1", "shop_eu", "follow", {"target_username": f"u{i}"})
                                     for i in range(follows)])
    return index, ActionBudgets(index.budgets, index.accounts, load_defaults(), now=lambda: NOW), ids


def test_the_second_follow_of_an_hour_waits_with_its_remark(tmp_path):
    index, budgets, ids = setup(tmp_path, 2)
    admitted = budgets.admit(index.tasks.to_create(100))
    assert [row.id for row in admitted] == ids[:1]
    held = index.tasks.get(ids[1])
    # The first one's run, made in the same pass, counts until it ends.
    assert held.run.message == f"waiting: follows 1/1 this hour, frees at {NOW + timedelta(hours=1):%H:%M} UTC"
    assert [row.id for row in index.tasks.to_create(100)] == ids[:1]  # its run is not attached in this test


def test_a_completed_follow_spends_and_frees_an_hour_later(tmp_path):
    index, budgets, ids = setup(tmp_path, 2)
    ended = NOW - timedelta(minutes=10)
    index.tasks.attach_flow_runs({ids[0]: "run-1"})
    index.tasks.record_states([RunState("run-1", "COMPLETED", "Completed", "now following @u0", ended,
                                        start_time=ended, end_time=ended)])
    assert budgets.admit(index.tasks.to_create(100)) == []
    remark = index.tasks.get(ids[1]).run.message
    assert remark == f"waiting: follows 1/1 this hour, frees at {ended + timedelta(hours=1):%H:%M} UTC"
    assert index.tasks.to_create(100) == []  # held: the run creator does not pick it again before then
    index.accounts.set_budgets("shop_eu", {"follow_per_hour": 2})  # raised: weighed again at once
    assert [row.id for row in budgets.admit(index.tasks.to_create(100))] == ids[1:]
    assert index.tasks.get(ids[1]).run.message is None


def test_a_follow_that_found_the_user_already_followed_spends_nothing(tmp_path):
    index, budgets, ids = setup(tmp_path, 2)
    index.tasks.attach_flow_runs({ids[0]: "run-1"})
    index.tasks.record_states([RunState("run-1", "COMPLETED", "Completed", "already following @u0", NOW,
                                        start_time=NOW, end_time=NOW)])
    assert [row.id for row in budgets.admit(index.tasks.to_create(100))] == ids[1:]


def test_an_accounts_budgets_through_the_account_book_and_its_body(tmp_path):
    index = Index(tmp_path / "index.db")
    phones = SimpleNamespace(known_serials=lambda: {"s1"})
    book = AccountBook(index.accounts, phones, None, None, AccountMarks(index.accounts, rate_limit_pause=timedelta(1)),
                       max_per_phone=10)
    assert book.save("shop_eu", "tiktok", "s1", budgets={"follow_per_hour": 3})["budgets"] == {"follow_per_hour": 3}
    body = parse_body(AccountPatch, {"budgets": {"like_per_day": 20, "follow_per_hour": None}})
    answer = book.patch("shop_eu", budgets=body.budgets.model_dump(exclude_unset=True))
    assert answer["budgets"] == {"like_per_day": 20}  # the null one is back to the default
    assert book.save("shop_eu", "tiktok", "s1")["budgets"] == {"like_per_day": 20}  # a POST without budgets keeps them
    for bad in ({"follows_per_hour": 1}, {"follow_per_hour": -1}, {"follow_per_hour": "5"}):
        with pytest.raises(ApiError) as refused:
            parse_body(AccountPatch, {"budgets": bad})
        assert refused.value.code == 40001


def test_manual_retries_count_the_failed_attempts_and_the_retries_let_go_before_them(tmp_path):
    index, budgets, ids = setup(tmp_path, 2)
    index.accounts.set_budgets("shop_eu", {"follow_per_hour": 3})
    ended = NOW - timedelta(minutes=5)
    index.tasks.attach_flow_runs({task_id: f"run-{task_id}" for task_id in ids})
    index.tasks.record_states([RunState(f"run-{task_id}", "FAILED", "Failed", "user not found", ended,
                                        start_time=ended, end_time=ended) for task_id in ids])
    rows = [index.tasks.get(task_id) for task_id in ids]
    # Two failed attempts (each may have followed) and the first retry make 3/3: the second waits.
    waits = budgets.weigh_retries(rows)
    assert list(waits) == ids[1:]
    assert waits[ids[1]].remark() == f"waiting: follows 3/3 this hour, frees at {ended + timedelta(hours=1):%H:%M} UTC"


def test_a_start_time_run_for_later_spends_nothing_until_it_is_due(tmp_path):
    index = Index(tmp_path / "index.db")
    index.accounts.save_account(Account("shop_eu", "tiktok", "phone-1", True))
    index.accounts.set_budgets("shop_eu", {"follow_per_hour": 1})
    later = NOW + timedelta(hours=3)
    [scheduled] = index.tasks.reserve_tasks([NewTask("phone-1", "shop_eu", "follow", {"target_username": "x"},
                                                     start_at=later)])
    budgets = ActionBudgets(index.budgets, index.accounts, load_defaults(), now=lambda: NOW)
    assert [row.id for row in budgets.admit(index.tasks.to_create(100))] == [scheduled]  # its run is made now
    index.tasks.attach_flow_runs({scheduled: "run-later"})
    index.tasks.record_states([RunState("run-later", "SCHEDULED", "Scheduled", None, NOW, expected_start_time=later)])
    now_ids = index.tasks.reserve_tasks([NewTask("phone-1", "shop_eu", "follow", {"target_username": "y"})])
    assert [row.id for row in budgets.admit(index.tasks.to_create(100))] == now_ids


def due_over_budget(tmp_path, prefect, due_in: timedelta, prefect_state: str = "SCHEDULED"):
    """A follow done ten minutes ago spent shop_eu's hour; a start_time follow is due in `due_in` (the pass
    runs five minutes after the tasks were stored). The budget pass reads Prefect through a real mirror."""
    index = Index(tmp_path / "index.db")
    index.accounts.save_account(Account("shop_eu", "tiktok", "phone-1", True))
    index.accounts.set_budgets("shop_eu", {"follow_per_hour": 1})
    now = datetime.now(timezone.utc) + timedelta(minutes=5)
    done, later = index.tasks.reserve_tasks([NewTask("phone-1", "shop_eu", "follow", {"target_username": "a"}),
                                              NewTask("phone-1", "shop_eu", "follow", {"target_username": "b"},
                                                      start_at=now + due_in)])
    ended = now - timedelta(minutes=10)
    runs = {done: prefect.add_run("COMPLETED"), later: prefect.add_run(prefect_state, expected_start_time=now + due_in)}
    index.tasks.attach_flow_runs(runs)
    index.tasks.record_states([RunState(runs[done], "COMPLETED", "Completed", "now following @a", ended,
                                        start_time=ended, end_time=ended),
                               # The index's copy: Scheduled, whatever Prefect has now.
                               RunState(runs[later], "SCHEDULED", "Scheduled", None, None, expected_start_time=now + due_in)])
    mirror = RunMirror(index.tasks, prefect)
    budgets = ActionBudgets(index.budgets, index.accounts, load_defaults(), prefect.writes, mirror.refresh,
                            now=lambda: now)
    return index, budgets, runs[later], later, ended, now


def test_a_start_time_run_due_over_budget_is_put_off_and_let_go_when_the_budget_is_raised(tmp_path, prefect):
    index, budgets, run_id, later, ended, now = due_over_budget(tmp_path, prefect, timedelta(seconds=10))
    budgets.sweep()  # due within 15 s, and the hour's follow is spent
    run = prefect.flow_runs[run_id].state
    frees = ended + timedelta(hours=1)
    assert (run.state_type, run.state_name, prefect.due[run_id]) == ("SCHEDULED", "AwaitingBudget", frees)
    assert run.message == f"waiting: follows 1/1 this hour, frees at {frees:%H:%M} UTC"
    assert index.tasks.get(later).budget_until == frees
    writes = len(prefect.history[run_id])
    budgets.sweep()  # not due again before it frees: left alone
    assert len(prefect.history[run_id]) == writes
    index.accounts.set_budgets("shop_eu", {"follow_per_hour": 2})  # due again at once, and it fits
    budgets.sweep()
    assert (prefect.flow_runs[run_id].state.state_name, prefect.due[run_id]) == ("Scheduled", now)
    assert index.tasks.get(later).budget_until is None


def test_a_run_a_worker_may_be_taking_is_never_put_off(tmp_path, prefect):
    # Due within 3 s: a worker may be setting it Pending; a forced Scheduled state would run it twice.
    _, budgets, run_id, *_ = due_over_budget(tmp_path, prefect, timedelta(seconds=2))
    budgets.sweep()
    assert [state.name for state in prefect.history[run_id]] == ["Scheduled"]


def test_a_run_prefect_has_started_is_never_put_off_whatever_the_index_says(tmp_path, prefect):
    # The index's copy still says Scheduled (an API restart, a lost event) while a worker runs it.
    index, budgets, run_id, later, *_ = due_over_budget(tmp_path, prefect, timedelta(seconds=10), prefect_state="RUNNING")
    budgets.sweep()
    assert [state.type for state in prefect.history[run_id]] == ["RUNNING"]
    assert index.tasks.get(later).run.state_type == "RUNNING"  # the copy was read again
