"""Account marks: a run that met a blocking screen marks its account, whose pending tasks then wait
until the mark is cleared (or a rate limit's pause ends); with the fake Prefect and the real index."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import falcon
import falcon.testing
import pytest

from api.domain.account_marks import AccountMarks
from api.domain.accounts import AccountBook
from api.domain.requests import TaskRequest
from api.gateways.index import Account, Index
from api.rest import errors
from api.rest.resources.accounts import AccountCollection, AccountMark
from api.rest.resources.metrics import FarmCollector

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def marks(index, tasks):
    marks = AccountMarks(index.accounts, rate_limit_pause=timedelta(minutes=60))
    tasks.mirror.on_failed.append(marks.take_ends)
    tasks.creator.before_batch.append(marks.note_held)
    for username, serial in (("alice", "s1"), ("bob", "s2")):
        index.accounts.save_account(Account(username, "tiktok", serial, True))
    return marks


def create(tasks, username: str) -> int:
    [task_id] = tasks.create(TaskRequest(usernames=[username], script_name="follow",
                                         script_config={"target_users": ["x"]}), NOW, random.Random(1))
    tasks.creator.create_batch()
    return task_id


def end(tasks, prefect, task_id: int, name: str, remark: str) -> None:
    run_id = tasks.table.get(task_id).flow_run_id
    prefect.end_named(run_id, "FAILED", name, remark)
    tasks.mirror.refresh([run_id])


def banned_alice(tasks, prefect) -> int:
    first = create(tasks, "alice")
    end(tasks, prefect, first, "AccountBanned", "This account was banned")
    return first


def test_a_run_ending_account_banned_marks_its_account(tasks, prefect, index, marks):
    first = banned_alice(tasks, prefect)
    alice = index.accounts.account("alice")
    assert (alice.mark, alice.mark_remark, alice.mark_task_id, alice.mark_until) == \
        ("banned", "This account was banned", first, None)
    assert alice.marked_at is not None
    assert index.accounts.account("bob").mark is None


def test_a_pending_task_of_a_marked_account_gets_no_run_and_says_why(tasks, prefect, marks):
    banned_alice(tasks, prefect)
    waiting = create(tasks, "alice")
    row = tasks.table.get(waiting)
    assert row.flow_run_id is None
    assert tasks.detail(waiting)["status"] == 0
    assert tasks.detail(waiting)["remark"] == ("account alice is marked banned: This account was banned; "
                                            "clear it with DELETE /api/v1/account/alice/mark")


def test_other_accounts_still_get_runs(tasks, prefect, marks):
    banned_alice(tasks, prefect)
    assert tasks.table.get(create(tasks, "bob")).flow_run_id is not None


def test_clearing_the_mark_lets_its_tasks_run(tasks, prefect, index, marks):
    banned_alice(tasks, prefect)
    waiting = create(tasks, "alice")
    marks.clear("alice")
    tasks.creator.create_batch()
    assert tasks.table.get(waiting).flow_run_id is not None
    assert tasks.detail(waiting)["remark"] == ""
    tasks.mirror.reconcile_everything()  # the old end read again does not mark it again
    assert index.accounts.account("alice").mark is None


def test_a_rate_limited_account_gets_its_runs_once_the_pause_ends(tasks, prefect, index, marks):
    first = create(tasks, "alice")
    end(tasks, prefect, first, "AccountRateLimited", "Try again later")
    alice = index.accounts.account("alice")
    assert alice.mark == "rate_limited" and alice.mark_until == alice.marked_at + timedelta(minutes=60)
    waiting = create(tasks, "alice")
    assert tasks.table.get(waiting).flow_run_id is None
    assert "marked rate_limited until" in tasks.detail(waiting)["remark"]
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    index.accounts.set_mark("alice", "rate_limited", "Try again later", first, past - timedelta(hours=1), past)
    tasks.creator.create_batch()
    assert tasks.table.get(waiting).flow_run_id is not None
    assert marks.counts() == {"banned": 0, "needs_attention": 0, "rate_limited": 0}


def test_a_task_without_username_marks_the_phones_accounts_of_its_platform(tasks, prefect, index, marks):
    [task_id] = tasks.create(TaskRequest(serials=["s2"], script_name="follow", script_config={"target_users": ["x"]}),
                             NOW, random.Random(1))
    tasks.creator.create_batch()
    end(tasks, prefect, task_id, "AccountNeedsAttention", "Verify it's you")
    assert index.accounts.account("bob").mark == "needs_attention"
    assert index.accounts.account("alice").mark is None
    assert marks.counts()["needs_attention"] == 1


def test_a_plain_failure_marks_nothing(tasks, prefect, index, marks):
    first = create(tasks, "alice")
    end(tasks, prefect, first, "Failed", "target not found")
    assert index.accounts.account("alice").mark is None


def client(index, marks) -> falcon.testing.TestClient:
    book = AccountBook(index.accounts, SimpleNamespace(known_serials=lambda: {"s1", "s2"}), None, None, marks)
    app = falcon.App()
    errors.install(app, SimpleNamespace(full=lambda: False))
    app.add_route("/api/v1/account", AccountCollection(book))
    app.add_route("/api/v1/account/{username}/mark", AccountMark(book))
    return falcon.testing.TestClient(app)


def test_the_mark_shows_in_the_listing_and_delete_clears_it(tasks, prefect, index, marks):
    banned_alice(tasks, prefect)
    api = client(index, marks)
    listed = {a["username"]: a for a in api.simulate_get("/api/v1/account").json["data"]["accounts"]}
    assert listed["alice"]["mark"] == "banned" and listed["alice"]["mark_remark"] == "This account was banned"
    assert listed["alice"]["marked_at"] is not None and listed["alice"]["mark_until"] is None
    assert listed["bob"]["mark"] is None
    cleared = api.simulate_delete("/api/v1/account/alice/mark")
    assert cleared.json["code"] == 0 and cleared.json["data"]["mark"] is None
    assert index.accounts.account("alice").mark is None
    assert api.simulate_delete("/api/v1/account/alice/mark").json["code"] == 40401  # no mark now
    assert api.simulate_delete("/api/v1/account/nobody/mark").json["code"] == 40401


def test_metrics_count_marked_accounts(tasks, prefect, marks):
    banned_alice(tasks, prefect)
    collector = FarmCollector(None, None, None, None, marks)
    family = next(f for f in _families(collector) if f.name == "phonefarm_marked_accounts")
    assert {s.labels["mark"]: s.value for s in family.samples} == {"banned": 1, "needs_attention": 0, "rate_limited": 0}


def _families(collector):
    # Only the marks' gauge is wanted: the collector's other families read parts not given here.
    collector.index = SimpleNamespace(counts_by=lambda _: [], timings=lambda: [])
    collector.phones = SimpleNamespace(listing=lambda: [])
    collector.orchestrator = SimpleNamespace(healthy=lambda: True)
    return list(collector.collect())


def test_an_index_made_before_marks_gets_their_columns_when_it_opens(tmp_path):
    with sqlite3.connect(tmp_path / "index.db") as conn:
        conn.execute("CREATE TABLE accounts (username TEXT PRIMARY KEY, platform TEXT NOT NULL,"
                     " serial TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1)")
        conn.execute("INSERT INTO accounts VALUES ('old', 'tiktok', 's1', 1)")
    index = Index(tmp_path / "index.db")
    assert index.accounts.account("old") == Account("old", "tiktok", "s1", True)
    assert index.accounts.set_mark("old", "banned", "gone", 1, NOW)
    assert index.accounts.account("old").mark == "banned"
