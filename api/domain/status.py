"""Task status codes and the one pure function that derives them from a Prefect state."""

from __future__ import annotations

from enum import IntEnum


class TaskStatus(IntEnum):
    PENDING = 0
    RUNNING = 1
    COMPLETED = 2
    FAILED = 3

    @property
    def text(self) -> str:
        return self.name.lower()


# Prefect state type names (prefect.client.schemas.objects.StateType values).
_STATUS_BY_STATE_TYPE = {
    "SCHEDULED": TaskStatus.PENDING,
    "PENDING": TaskStatus.PENDING,
    "PAUSED": TaskStatus.PENDING,
    "RUNNING": TaskStatus.RUNNING,
    "CANCELLING": TaskStatus.RUNNING,
    "COMPLETED": TaskStatus.COMPLETED,
    "FAILED": TaskStatus.FAILED,
    "CRASHED": TaskStatus.FAILED,
    "CANCELLED": TaskStatus.FAILED,
}

STATE_TYPES_BY_STATUS: dict[TaskStatus, tuple[str, ...]] = {
    status: tuple(t for t, s in _STATUS_BY_STATE_TYPE.items() if s is status) for status in TaskStatus
}


def task_status(state_type: str | None) -> TaskStatus:
    """The API status of a flow run in a state of this type (no state yet: pending)."""
    if state_type is None:
        return TaskStatus.PENDING
    return _STATUS_BY_STATE_TYPE[state_type]
