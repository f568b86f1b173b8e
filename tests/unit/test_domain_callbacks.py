"""The callbacks outbox: each end of a task queued once, delivered signed, retried with back-off, given up on."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from api.domain.callbacks import (
    ATTEMPTS, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, CallbackPolicy, CallbackSender,
    signature,
)
from api.domain.requests import TaskRequest
from tests.harness import until
from tests.unit.fakes import task_service

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
RECEIVER = "https://receiver.test/hooks"
POLICY = CallbackPolicy((RECEIVER,), "s3cret")


class Receiver:
    """Answers each call with the next status of `statuses` (then 200), keeping what it got."""

    def __init__(self, *statuses: int):
        self.statuses = list(statuses)
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)


class Clock:
    def __init__(self):
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tasks(index, prefect):
    return task_service(index, prefect, callbacks=POLICY)


@pytest.fixture
def clock():
    return Clock()


def sender_to(index, receiver: Receiver, clock: Clock) -> CallbackSender:
    sender = CallbackSender(index.outbox, POLICY, "http://prefect.test", now=clock)
    sender._http = httpx.Client(transport=httpx.MockTransport(receiver))
    return sender


def ended(tasks, prefect, state_type: str, callback_url=RECEIVER) -> int:
    request = TaskRequest(serials=["s1"], script_name="follow", script_config={"target_users": ["a"]},
                          callback_url=callback_url)
    [task_id] = tasks.create(request, NOW, random.Random(1))
    tasks.creator.create_batch()
    run_id = tasks.table.get(task_id).flow_run_id
    prefect.set_state(run_id, state_type)
    tasks.mirror.refresh([run_id])
    return task_id


def test_each_end_is_queued_once_and_delivered_signed(tasks, prefect, index, clock):
    done = ended(tasks, prefect, "COMPLETED")
    ended(tasks, prefect, "RUNNING")  # not ended: nothing to tell yet
    ended(tasks, prefect, "COMPLETED", callback_url=None)  # asked for no call
    receiver = Receiver()
    sender = sender_to(index, receiver, clock)
    assert sender.queue_ends() == 1
    assert sender.queue_ends() == 0
    sender.deliver_due()
    [call] = receiver.calls
    assert call.headers[TIMESTAMP_HEADER] == str(int(clock.now))
    assert call.headers[SIGNATURE_HEADER] == signature("s3cret", call.headers[TIMESTAMP_HEADER],
                                                       call.headers[DELIVERY_HEADER], call.content)
    assert call.headers[DELIVERY_HEADER] == str(index.outbox.callbacks_of(done)[0]["id"])
    body = json.loads(call.content)
    assert body["id"] == done and body["status"] == 2
    assert index.outbox.callbacks_of(done)[0]["delivered_at"] is not None


def test_a_re_run_that_ends_again_is_told_again(tasks, prefect, index, clock):
    task_id = ended(tasks, prefect, "FAILED")
    receiver = Receiver()
    sender = sender_to(index, receiver, clock)
    sender.run_once()
    tasks.retry(task_id)
    prefect.set_state(tasks.table.get(task_id).flow_run_id, "COMPLETED")
    tasks.mirror.refresh([tasks.table.get(task_id).flow_run_id])
    sender.run_once()
    assert [json.loads(c.content)["status"] for c in receiver.calls] == [3, 2]


def test_a_stopped_task_is_told_once_though_prefect_rewords_its_end(tasks, prefect, index, clock):
    """Stopped before its run was made, the run is made Cancelled; the engine's own Cancelled ("Flow
    run was cancelled successfully.") later is the same end: one call, as is the Crashed the engine then
    forces when its process is killed. A run then found Completed ended differently: told again."""
    request = TaskRequest(serials=["s1"], script_name="follow", script_config={"target_users": ["a"]},
                          callback_url=RECEIVER)
    [task_id] = tasks.create(request, NOW, random.Random(1))
    tasks.stop(task_id)
    tasks.creator.create_batch()
    receiver = Receiver()
    sender = sender_to(index, receiver, clock)
    sender.run_once()
    run_id = tasks.table.get(task_id).flow_run_id
    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    prefect.set_state(run_id, "CANCELLED", "Flow run was cancelled successfully.", at=later)
    tasks.mirror.refresh([run_id])
    assert tasks.table.get(task_id).run.message == "Flow run was cancelled successfully."
    sender.run_once()
    prefect.set_state(run_id, "CRASHED", "Execution was cancelled by the runtime environment.", at=later + timedelta(seconds=2))
    tasks.mirror.refresh([run_id])
    sender.run_once()
    prefect.set_state(run_id, "COMPLETED", at=later + timedelta(seconds=5))
    tasks.mirror.refresh([run_id])
    sender.run_once()
    assert [(json.loads(c.content)["status"], json.loads(c.content)["remark"]) for c in receiver.calls] == [
        (3, "stopped: Stopped through the API"), (2, "")]


def test_a_failed_call_is_retried_with_back_off(tasks, prefect, index, clock):
    task_id = ended(tasks, prefect, "COMPLETED")
    receiver = Receiver(500, 503)
    sender = sender_to(index, receiver, clock)
    sender.run_once()  # HTTP 500: again in 2 s
    sender.run_once()
    assert len(receiver.calls) == 1
    clock.now += 2
    sender.run_once()  # HTTP 503: again in 4 s
    clock.now += 3
    sender.run_once()
    assert len(receiver.calls) == 2
    clock.now += 1
    sender.run_once()
    [delivery] = index.outbox.callbacks_of(task_id)
    assert len(receiver.calls) == 3 and delivery["delivered_at"] and delivery["attempts"] == 3


def test_a_receiver_that_keeps_failing_is_given_up_on(tasks, prefect, index, clock):
    task_id = ended(tasks, prefect, "CRASHED")
    receiver = Receiver(*[500] * ATTEMPTS)
    sender = sender_to(index, receiver, clock)
    for _ in range(ATTEMPTS + 2):
        sender.run_once()
        clock.now += 1_000
    [delivery] = index.outbox.callbacks_of(task_id)
    assert len(receiver.calls) == ATTEMPTS
    assert delivery["gave_up_at"] and delivery["last_error"] == "HTTP 500"


def test_a_url_no_longer_allowed_is_not_called(tasks, prefect, index, clock):
    task_id = ended(tasks, prefect, "COMPLETED")
    receiver = Receiver()
    sender = sender_to(index, receiver, clock)
    sender.policy = CallbackPolicy(("https://elsewhere.test/",), "s3cret")
    sender.run_once()
    assert receiver.calls == []
    assert "no longer allowed" in index.outbox.callbacks_of(task_id)[0]["last_error"]


def test_the_sender_thread_goes_on_after_a_failed_round_and_stops_when_told(tasks, prefect, index, clock, monkeypatch):
    task_id = ended(tasks, prefect, "COMPLETED")
    receiver = Receiver()
    sender = CallbackSender(index.outbox, POLICY, "http://prefect.test", now=clock, every=0.01)
    sender._http = httpx.Client(transport=httpx.MockTransport(receiver))
    rounds = []
    queue_ends = sender.queue_ends

    def first_round_fails():
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("the index was busy")
        return queue_ends()

    monkeypatch.setattr(sender, "queue_ends", first_round_fails)
    sender.start()
    until(lambda: receiver.calls, 10, "a delivery after the failed round", interval=0.01)
    sender.stop()
    assert len(receiver.calls) == 1 and len(rounds) >= 2
    assert not sender.is_alive()
    assert index.outbox.callbacks_of(task_id)[0]["delivered_at"]
