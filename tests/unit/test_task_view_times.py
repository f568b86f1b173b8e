"""api.domain.views.task_view: the contract's start_time and end_time of a task, run once or retried."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from api.domain.views import local_time, task_view
from api.gateways.index_rows import RunState, TaskRow

FIRST_START = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
FIRST_END = FIRST_START + timedelta(seconds=40)
RETRIED = FIRST_END + timedelta(minutes=5)
DUE = RETRIED + timedelta(seconds=2)


def view(state_type: str, state_name: str, timestamp: datetime, *, start_time=None, expected=None, end_time=None,
         manual_retries: int = 0) -> dict:
    run = RunState("run-1", state_type, state_name, None, timestamp, start_time=start_time,
                   expected_start_time=expected, end_time=end_time)
    row = TaskRow(id=1, flow_run_id="run-1", serial="R1", username=None, script_name="follow", script_config={},
                  source="api", created_at=FIRST_START - timedelta(seconds=1), manual_retries=manual_retries, run=run)
    return task_view(row, "http://ui")


def test_a_task_run_once_shows_its_runs_start_and_end():
    assert view("SCHEDULED", "Scheduled", FIRST_START, expected=FIRST_START)["start_time"] == local_time(FIRST_START)
    running = view("RUNNING", "Running", FIRST_START, start_time=FIRST_START, expected=FIRST_START)
    assert (running["start_time"], running["end_time"]) == (local_time(FIRST_START), None)
    ended = view("COMPLETED", "Completed", FIRST_END, start_time=FIRST_START, expected=FIRST_START, end_time=FIRST_END)
    assert (ended["start_time"], ended["end_time"]) == (local_time(FIRST_START), local_time(FIRST_END))


def test_a_retried_task_waiting_shows_when_it_is_due_not_its_failed_attempts_start():
    # Prefect keeps the run's start_time at its first attempt when the same run is scheduled again.
    waiting = view("SCHEDULED", "Scheduled", RETRIED, start_time=FIRST_START, expected=DUE, manual_retries=1)
    assert (waiting["status"], waiting["start_time"], waiting["end_time"]) == (0, local_time(DUE), None)


def test_a_retried_task_running_shows_when_this_attempt_started():
    running = view("RUNNING", "Running", DUE, start_time=FIRST_START, expected=DUE, manual_retries=1)
    assert (running["status"], running["start_time"]) == (1, local_time(DUE))
