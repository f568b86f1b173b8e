"""The chaos run's checker finds each kind of broken promise in crafted records, and none in sound ones."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from chaos.checker import Records, verdict

SECRET = "chaos-callback-secret-0123456789"


def task(task_id: int, status: int = 2, serial: str = "p1", retry_count: int = 0) -> dict:
    return {"id": task_id, "serial": serial, "status": status, "retry_count": retry_count, "remark": "",
            "status_text": {0: "pending", 1: "running", 2: "completed", 3: "failed"}[status],
            "end_time": "2026-12-05 10:00:00" if status in (2, 3) else None}


def call(body: dict, delivery: str, secret: str = SECRET, answered: int = 200) -> dict:
    raw = json.dumps(body)
    signature = "sha256=" + hmac.new(secret.encode(), f"1.{delivery}.".encode() + raw.encode(), hashlib.sha256).hexdigest()
    return {"headers": {"X-Phonefarm-Timestamp": "1", "X-Phonefarm-Delivery": delivery, "X-Phonefarm-Signature": signature},
            "body": raw, "answered": answered, "verified": True}


def sound() -> Records:
    return Records(created={1, 2, 3}, deleted={3}, tasks={1: task(1), 2: task(2, status=3, retry_count=1)},
                   intervals={"p1": [(1, 1.0, 2.0), (2, 2.5, 3.0), (2, 5.0, 6.0)]},
                   callbacks=[call(task(1), "d1"), call(task(1), "d1", answered=401)], callback_secret=SECRET,
                   with_callback={1})


def invariants(records: Records) -> list[str]:
    return [violation.invariant for violation in verdict(records)]


def test_sound_records_break_no_promise():
    assert verdict(sound()) == []


def test_two_runs_on_one_phone_at_once():
    records = sound()
    records.intervals["p1"].append((1, 1.5, 1.8))
    assert invariants(records) == ["one run a phone", "no attempt twice"]


def test_a_run_that_never_ended_on_its_phone_overlaps_the_next():
    records = sound()
    records.intervals["p1"][0] = (1, 1.0, None)
    assert invariants(records) == ["one run a phone"]


def test_two_tasks_shown_running_on_one_phone():
    records = sound()
    records.tasks[1], records.tasks[2] = task(1, status=1), task(2, status=1)
    assert "one run a phone" in invariants(records)


def test_a_task_lost_from_the_listing():
    records = sound()
    del records.tasks[2]
    assert invariants(records) == ["every task is listed"]


def test_a_task_still_pending_after_settling_unless_its_phone_is_offline():
    records = sound()
    records.tasks[2] = task(2, status=0, retry_count=1)
    assert invariants(records) == ["every task ends"]
    records.offline = {"p1"}
    assert invariants(records) == []


def test_an_attempt_driven_twice():
    records = sound()
    records.intervals["p1"].append((2, 7.0, 8.0))
    assert invariants(records) == ["no attempt twice"]


def test_an_end_delivered_twice_under_two_ids_or_never_or_unsigned():
    records = sound()
    records.callbacks.append(call(task(1), "d2"))
    assert invariants(records) == ["callbacks once"]
    records.callbacks = []
    assert invariants(records) == ["callbacks delivered"]
    records.callbacks = [call(task(1), "d1", secret="another-secret-0123456789")]
    assert invariants(records) == ["callbacks signed", "callbacks delivered"]


def test_a_killed_run_ends_when_the_farm_recorded_its_end():
    """No end marker (its process was killed): the recorded end_time stands for it, to the second."""
    records = sound()
    records.wall_offset = datetime(2026, 12, 5, 10, 0, 0).timestamp() - 3.0  # 10:00:00 is 3.0 on the phones' clock
    records.intervals["p1"] = [(1, 1.0, None), (2, 3.5, 4.0), (2, 5.0, 6.0)]
    assert verdict(records) == []
    records.intervals["p1"] = [(1, 1.0, None), (2, 2.5, 4.0), (2, 5.0, 6.0)]
    assert invariants(records) == ["one run a phone"]


def test_an_every_minute_plan_fires_once_a_minute_but_while_the_api_was_down():
    records = sound()
    records.plan = (100.0, 250.0)  # due at 100, 160, 220 (none in the last 15 s)
    records.tasks.update({10: task(10) | {"plan_id": "p"}, 11: task(11) | {"plan_id": "p"}})
    records.deleted.add(12)  # a firing's task the workload deleted
    assert invariants(records) == []
    del records.tasks[11]
    assert invariants(records) == ["plan firings"]
    records.api_down = [(150.0, 170.0)]  # the firing due at 160 collapsed into the next
    assert invariants(records) == []
    records.tasks.update({11: task(11) | {"plan_id": "p"}, 13: task(13) | {"plan_id": "p"}})
    assert invariants(records) == ["plan firings"]


def test_a_killed_attempt_whose_retry_never_reached_the_phone_is_not_judged_by_the_retry_s_end():
    records = sound()
    records.wall_offset = datetime(2026, 12, 5, 10, 0, 0).timestamp() - 3.0
    records.tasks[1] = task(1, status=3, retry_count=1)  # killed, retried, the retry stopped before it started
    records.callbacks.append(call(records.tasks[1], "d3"))
    records.intervals["p1"] = [(1, 1.0, None), (2, 2.5, 4.0), (2, 5.0, 6.0)]
    assert verdict(records) == []


def test_a_delete_that_got_no_answer_may_have_been_done():
    records = sound()
    del records.tasks[2]
    records.maybe_deleted = {2}
    assert verdict(records) == []


def test_an_action_done_twice_in_one_run_but_not_across_runs():
    records = sound()
    records.actions = {"p1": [(1.2, "follow alice as tiktok/a"), (2.7, "follow alice as tiktok/a"), (5.5, "post")]}
    assert verdict(records) == []
    records.actions["p1"].append((5.8, "post"))
    [violation] = verdict(records)
    assert (violation.invariant, violation.detail) == ("no action twice", "p1: task 2 did 'post' twice in one run")


def test_the_books_and_prefect_disagreeing_on_an_end():
    records = sound()
    records.prefect_states = {1: "COMPLETED", 2: "CANCELLED"}
    assert verdict(records) == []
    records.prefect_states[1] = "RUNNING"
    records.tasks[2] = task(2, status=0, retry_count=1)
    records.offline = {"p1"}
    assert [v.detail for v in verdict(records)] == ["task 1 is shown completed while its flow run is RUNNING in Prefect",
                                                    "task 2 is shown pending while its flow run is CANCELLED in Prefect"]


def test_a_simulated_phone_times_its_actions_on_the_markers_clock():
    from simulator.phone import SimulatedPhone

    phone = SimulatedPhone("c1")
    phone.run_shell("log -t phonefarm 'task 5 start'")
    phone.record_engagement("tiktok", "c1_tt_a", "follow", "alice")
    phone.record_engagement("tiktok", "c1_tt_a", "follow", "alice")
    phone.run_shell("log -t phonefarm 'task 5 end'")
    records = Records(created={5}, deleted=set(), tasks={5: task(5, serial="c1")},
                      intervals={"c1": phone.task_intervals()}, actions={"c1": list(phone.actions)})
    assert [v.detail for v in verdict(records)] == ["c1: task 5 did 'follow alice as tiktok/c1_tt_a' twice in one run"]


def test_a_task_held_by_a_spent_budget_may_stay_pending():
    records = sound()
    records.tasks[2] = task(2, status=0, retry_count=1) | {"remark": "waiting: comments 3/3 this hour, frees at 14:53 UTC"}
    assert verdict(records) == []
