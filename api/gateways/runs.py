"""Flow runs, past states and plan schedules as the domain sees them: plain values the Prefect gateway builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from api.gateways.index_rows import RunState

__all__ = ["PastState", "PlanSchedule", "Run", "RunState"]


@dataclass(frozen=True)
class Run:
    """A flow run: its state (as the index keeps it), what it was started with, and where it waits."""

    id: str
    name: str
    state: RunState
    parameters: dict = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    work_queue_name: Optional[str] = None
    plan_id: Optional[str] = None  # the plan (schedule) whose firing this run is, if any

    @property
    def state_type(self) -> Optional[str]:
        return self.state.state_type

    @property
    def start_time(self) -> Optional[datetime]:
        return self.state.start_time

    @property
    def expected_start_time(self) -> Optional[datetime]:
        return self.state.expected_start_time


@dataclass(frozen=True)
class PastState:
    """One state of a run's history. `original` is the gateway's own record of it, so that a state
    put back is the same state (its result and details too), not a look-alike."""

    type: str
    name: Optional[str]
    message: Optional[str]
    timestamp: datetime
    final: bool
    original: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PlanSchedule:
    """One plan's schedule: whether it is active, and the parameters its firings carry."""

    id: str
    active: bool
    created: Optional[datetime]
    parameters: dict = field(default_factory=dict)
