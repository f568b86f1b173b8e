"""Which of Prefect's flow-run events wake the fast worker for a poll."""

from __future__ import annotations

from uuid import uuid4

from worker.wakeup import frees_a_slot_elsewhere, own_run_ended

OURS, THEIRS = uuid4(), uuid4()


def running_here(run_id) -> bool:
    return run_id == OURS


def test_a_run_to_start_always_wakes_the_worker():
    for state in ("Scheduled", "AwaitingRetry"):
        assert frees_a_slot_elsewhere(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here)


def test_the_end_of_a_run_still_running_here_waits_for_its_process_to_exit():
    for state in ("Completed", "Failed", "Crashed", "Cancelled"):
        assert not frees_a_slot_elsewhere(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here)
        assert frees_a_slot_elsewhere(f"prefect.flow-run.{state}", f"prefect.flow-run.{THEIRS}", running_here)


def test_an_end_naming_no_run_wakes_the_worker():
    assert frees_a_slot_elsewhere("prefect.flow-run.Completed", "prefect.flow-run.not-a-uuid", running_here)


def test_the_final_state_of_a_run_running_here_is_told_to_the_worker_by_its_id():
    for state in ("Completed", "Failed", "Crashed", "Cancelled"):
        assert own_run_ended(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here) == OURS
        assert own_run_ended(f"prefect.flow-run.{state}", f"prefect.flow-run.{THEIRS}", running_here) is None
    for state in ("Scheduled", "Cancelling", "Running"):  # a stop in flight is no end: the worker reads it
        assert own_run_ended(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here) is None
