"""Which of Prefect's flow-run events wake the fast worker for a poll."""

from __future__ import annotations

from uuid import uuid4

from worker.wakeup import own_run_ended, worth_a_poll

OURS, THEIRS = uuid4(), uuid4()


def running_here(run_id) -> bool:
    return run_id == OURS


def test_a_run_to_start_always_wakes_the_worker():
    for state in ("Scheduled", "AwaitingRetry"):
        assert worth_a_poll(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here)


def test_a_stopped_or_crashed_run_still_running_here_waits_for_its_process_to_exit():
    for state in ("Crashed", "Cancelled"):
        assert not worth_a_poll(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here)
        assert worth_a_poll(f"prefect.flow-run.{state}", f"prefect.flow-run.{THEIRS}", running_here)


def test_an_end_a_run_here_wrote_itself_wakes_the_worker_before_its_process_exits():
    # flows.run_task returns its state after letting go of the phone: the phone's next run may start.
    for state in ("Completed", "Failed"):
        assert worth_a_poll(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here)
        assert worth_a_poll(f"prefect.flow-run.{state}", f"prefect.flow-run.{THEIRS}", running_here)


def test_an_end_naming_no_run_wakes_the_worker():
    assert worth_a_poll("prefect.flow-run.Completed", "prefect.flow-run.not-a-uuid", running_here)


def test_the_final_state_of_a_run_running_here_is_told_to_the_worker_by_its_id():
    for state in ("Completed", "Failed", "Crashed", "Cancelled"):
        assert own_run_ended(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here) == OURS
        assert own_run_ended(f"prefect.flow-run.{state}", f"prefect.flow-run.{THEIRS}", running_here) is None
    for state in ("Scheduled", "Cancelling", "Running"):  # a stop in flight is no end: the worker reads it
        assert own_run_ended(f"prefect.flow-run.{state}", f"prefect.flow-run.{OURS}", running_here) is None
