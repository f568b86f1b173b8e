"""The status adapter as a table: every Prefect state type maps to exactly one API status."""

from __future__ import annotations

import pytest
from prefect.client.schemas.objects import StateType

from api.domain.status import STATE_TYPES_BY_STATUS, TaskStatus, task_status
from api.domain.views import remark

TABLE = [
    ("SCHEDULED", TaskStatus.PENDING),
    ("PENDING", TaskStatus.PENDING),
    ("PAUSED", TaskStatus.PENDING),
    ("RUNNING", TaskStatus.RUNNING),
    ("CANCELLING", TaskStatus.RUNNING),
    ("COMPLETED", TaskStatus.COMPLETED),
    ("FAILED", TaskStatus.FAILED),
    ("CRASHED", TaskStatus.FAILED),
    ("CANCELLED", TaskStatus.FAILED),
    (None, TaskStatus.PENDING),
]


@pytest.mark.parametrize("state_type, expected", TABLE)
def test_state_type_maps_to_status(state_type, expected):
    assert task_status(state_type) is expected


def test_table_covers_every_prefect_state_type():
    assert {t for t, _ in TABLE if t} == {t.value for t in StateType}


def test_status_texts():
    assert [s.text for s in TaskStatus] == ["pending", "running", "completed", "failed"]


def test_state_types_by_status_is_the_table_read_backwards():
    """Listing and stats filter Prefect with these: written out by hand, not derived from the adapter."""
    assert {status: set(types) for status, types in STATE_TYPES_BY_STATUS.items()} == {
        TaskStatus.PENDING: {"SCHEDULED", "PENDING", "PAUSED"},
        TaskStatus.RUNNING: {"RUNNING", "CANCELLING"},
        TaskStatus.COMPLETED: {"COMPLETED"},
        TaskStatus.FAILED: {"FAILED", "CRASHED", "CANCELLED"},
    }


@pytest.mark.parametrize("state_type, name, message, expected", [
    ("CANCELLED", "Cancelled", "Stopped through the API", "stopped: Stopped through the API"),
    ("CRASHED", "Crashed", "Worker died", "run crashed: Worker died"),
    ("FAILED", "Failed", "target user @x does not exist", "target user @x does not exist"),
    ("COMPLETED", "Completed", "All states completed.", ""),
    ("SCHEDULED", "Late", None, "waiting for its phone or a free slot"),
    ("RUNNING", "Running", None, ""),
])
def test_remark(state_type, name, message, expected):
    assert remark(state_type, name, message) == expected
