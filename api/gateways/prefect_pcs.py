"""The farm's PCs in Prefect: the phones each PC's worker reports (events), and the automation that ends the runs of a PC that went silent."""

from __future__ import annotations

from datetime import timedelta

from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

from api.gateways.prefect_connection import PrefectConnection, reachable
from flows.farm_pcs import PcReport, latest_reports, now_utc, recent_reports_filter

DEAD_PC_AUTOMATION = "phonefarm: end the runs of a PC that stopped answering"
PC_STOPPED_ANSWERING = "the PC running it stopped answering; retry it if it should run again"
STUCK_PENDING_AUTOMATION = "phonefarm: put back the runs a PC took but never started"
PC_NEVER_STARTED = "Back in the queue: the PC that took it never started it"
EVENT_PAGES = 10


class FarmPcs(PrefectConnection):
    def pc_reports(self) -> dict[str, PcReport]:
        """Each PC's newest report of its phones over the last minute (older PCs are not listed)."""
        with reachable(self._health):
            page = self._client.read_events(recent_reports_filter(now_utc()), limit=50)
            events = list(page.events)
            for _ in range(EVENT_PAGES - 1):
                if not page.next_page:
                    break
                page = self._client.read_events_page(str(page.next_page))
                events += page.events
        return latest_reports(events)

    def ensure_dead_pc_automations(self, within_seconds: int) -> None:
        """Prefect's zombie detection (its documented automation), for the runs of a PC that died or
        lost the network. A run that went Running, or sent a heartbeat (every 30 s), and then neither
        sends the next one nor ends within `within_seconds` is marked Crashed: no one there can say
        how it ended. Counting from Running too catches a PC that died before the run's first
        heartbeat left it. A run its worker took (Pending) that never started goes back to its queue."""
        ended = {f"prefect.flow-run.{state}" for state in ("Completed", "Failed", "Cancelled", "Crashed")}
        self._ensure_automation(DEAD_PC_AUTOMATION, within_seconds,
                                after={"prefect.flow-run.Running", "prefect.flow-run.heartbeat"},
                                expect={"prefect.flow-run.heartbeat", *ended},
                                action=ChangeFlowRunState(state=StateType.CRASHED, message=PC_STOPPED_ANSWERING))
        self._ensure_automation(STUCK_PENDING_AUTOMATION, within_seconds, after={"prefect.flow-run.Pending"},
                                expect={"prefect.flow-run.Running", "prefect.flow-run.Scheduled",
                                        "prefect.flow-run.AwaitingRetry", "prefect.flow-run.Cancelling", *ended},
                                action=ChangeFlowRunState(state=StateType.SCHEDULED, message=PC_NEVER_STARTED))

    def _ensure_automation(self, name: str, within_seconds: int, *, after: set[str], expect: set[str],
                           action: ChangeFlowRunState) -> None:
        automation = AutomationCore(
            name=name, description="Made by the phone farm's API (README: Scale out).",
            trigger=EventTrigger(
                after=after, expect=expect,
                match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
                for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
                within=timedelta(seconds=within_seconds),
            ),
            actions=[action],
        )
        with self._writing():
            existing = self._client.read_automations_by_name(name)
            if not existing:
                self._client.create_automation(automation)
            elif existing[0].trigger != automation.trigger or existing[0].actions != automation.actions:
                self._client.update_automation(existing[0].id, automation)
