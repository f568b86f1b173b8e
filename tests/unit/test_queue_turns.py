"""worker.queue_turns: a phone's queue hands the worker its next run only once the previous one is done there."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, field

from worker.queue_turns import PollScope, QueueTurns, due_now


@dataclass(frozen=True)
class Fetched:
    queue: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def turns(in_flight: set) -> QueueTurns:
    return QueueTurns(lambda run_id: run_id in in_flight)


def admit(queue_turns: QueueTurns, runs: list[Fetched]) -> list[Fetched]:
    return queue_turns.admit(runs, queue_of=lambda run: run.queue, id_of=lambda run: run.id)


def test_two_runs_of_one_queue_in_one_fetch_only_the_first_goes():
    in_flight: set = set()
    queue_turns = turns(in_flight)
    first, second, other = Fetched("phone-a"), Fetched("phone-a"), Fetched("phone-b")
    assert admit(queue_turns, [first, second, other]) == [first, other]


def test_the_next_run_waits_while_the_previous_is_in_flight_and_goes_once_it_ended():
    in_flight: set = set()
    queue_turns = turns(in_flight)
    first, second = Fetched("phone-a"), Fetched("phone-a")
    assert admit(queue_turns, [first]) == [first]
    in_flight.add(first.id)
    # Prefect's fetch skipped the first run (row-locked by its Pending transition) and returned the next.
    assert admit(queue_turns, [second]) == []
    in_flight.discard(first.id)
    assert admit(queue_turns, [second]) == [second]


def test_a_run_fetched_again_while_submitting_is_left_to_the_base_worker_which_skips_it():
    in_flight: set = set()
    queue_turns = turns(in_flight)
    run = Fetched("phone-a")
    assert admit(queue_turns, [run]) == [run]
    in_flight.add(run.id)
    assert admit(queue_turns, [run]) == [run]


def test_a_run_admitted_but_never_submitted_holds_nothing():
    """The base worker stops at its --limit: an admitted run it did not take is not in flight."""
    queue_turns = turns(set())
    untaken, later = Fetched("phone-a"), Fetched("phone-a")
    assert admit(queue_turns, [untaken]) == [untaken]
    assert admit(queue_turns, [later]) == [later]


def test_a_run_fetched_ahead_of_its_start_time_waits_in_its_queue():
    # The worker fetches runs due within its prefetch window; none may start before its time.
    now = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    starts = {"due": now - timedelta(seconds=1), "later": now + timedelta(seconds=0.8), "unset": None}
    runs, wait = due_now(list(starts), start_of=starts.get, now=now)
    assert runs == ["due", "unset"] and wait == 0.8
    assert due_now(["due"], start_of=starts.get, now=now) == (["due"], None)


def test_a_queue_is_busy_while_its_run_is_in_flight():
    in_flight: set = set()
    queue_turns = turns(in_flight)
    running, admitted_only = Fetched("phone-a"), Fetched("phone-b")
    admit(queue_turns, [running, admitted_only])
    in_flight.add(running.id)
    assert queue_turns.busy(["phone-a", "phone-b", "phone-c"]) == {"phone-a"}
    in_flight.discard(running.id)
    assert queue_turns.busy(["phone-a", "phone-b", "phone-c"]) == set()


def test_a_poll_asks_for_every_queue_first_and_then_every_30_s_and_otherwise_for_the_free_ones():
    scope = PollScope(every_queue_seconds=30)
    served = {"phone-a", "phone-b", "phone-c"}
    assert scope.queues(served, busy={"phone-a"}, now=100.0) == ["phone-a", "phone-b", "phone-c"]
    assert scope.queues(served, busy={"phone-a"}, now=110.0) == ["phone-b", "phone-c"]
    assert scope.queues(served, busy=served, now=120.0) == []
    assert scope.queues(served, busy=served, now=130.0) == ["phone-a", "phone-b", "phone-c"]
    assert scope.queues(served, busy={"phone-c"}, now=131.0) == ["phone-a", "phone-b"]
