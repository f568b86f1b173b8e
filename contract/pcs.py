"""The farm's PCs as Prefect events: each PC's worker tells which phones its adb server sees; the API and the other PCs read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

PC_PHONES_EVENT = "phonefarm.pc.phones"
PC_RESOURCE_PREFIX = "phonefarm.pc."
# A PC tells its phones every REPORT_SECONDS; one silent for LIVE_SECONDS (by default: the setting
# pc_silence_seconds) is gone (killed, or off the network). Prefect persists events in batches (a
# few seconds), hence the margin.
REPORT_SECONDS = 5.0
LIVE_SECONDS = 30.0
SHORTEST_SILENCE = 10.0  # two reports and Prefect's batching
WORKER_LABEL = "prefect.worker.name"  # Prefect's label on a flow run: the worker that took it


def worker_name(pc: str) -> str:
    """The name of a PC's worker in Prefect (the flow runs it takes carry it in WORKER_LABEL)."""
    return f"{pc}-worker"


def pc_of_worker(name: str) -> str:
    return name.removesuffix("-worker")


@dataclass(frozen=True)
class PcReport:
    """One PC's latest word: its phones (serial, state, model) at `at`."""

    pc: str
    at: datetime
    phones: tuple[dict, ...] = field(default=())

    @property
    def serials(self) -> set[str]:
        return {phone["serial"] for phone in self.phones}

    def live(self, now: datetime, silence_seconds: float = LIVE_SECONDS) -> bool:
        return now - self.at <= timedelta(seconds=silence_seconds)


def report_event(pc: str, phones: Iterable[dict]) -> dict[str, Any]:
    """The keyword arguments of prefect.events.emit_event for one report."""
    return {"event": PC_PHONES_EVENT,
            "resource": {"prefect.resource.id": f"{PC_RESOURCE_PREFIX}{pc}", "prefect.resource.name": pc},
            "payload": {"phones": [dict(phone) for phone in phones]}}


def recent_reports_filter(now: datetime, window_seconds: float) -> EventFilter:
    return EventFilter(occurred=EventOccurredFilter(since=now - timedelta(seconds=window_seconds), until=now + timedelta(minutes=1)),
                       event=EventNameFilter(name=[PC_PHONES_EVENT]))


def latest_reports(events: Iterable[Any]) -> dict[str, PcReport]:
    """Each PC's newest report among `events` (Prefect Event objects, any order)."""
    latest: dict[str, PcReport] = {}
    for event in events:
        pc = event.resource.get("prefect.resource.name") or event.resource.id.removeprefix(PC_RESOURCE_PREFIX)
        phones = tuple(phone for phone in (event.payload or {}).get("phones", []) if isinstance(phone, dict) and "serial" in phone)
        at = event.occurred if event.occurred.tzinfo else event.occurred.replace(tzinfo=timezone.utc)
        if pc not in latest or latest[pc].at < at:
            latest[pc] = PcReport(pc, at, phones)
    return latest


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
