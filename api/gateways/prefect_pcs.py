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

    def ensure_dead_pc_automation(self, within_seconds: int) -> None:
        """Prefect's zombie detection (its documented automation): a run whose heartbeat does not
        come again within `within_seconds` (nor its end) is marked Crashed. Its PC's processes were
        killed, or the PC lost the network: either way no one there can say how it ended."""
        automation = AutomationCore(
            name=DEAD_PC_AUTOMATION,
            description="Flow runs send a heartbeat every 30 s (PREFECT_FLOWS_HEARTBEAT_FREQUENCY); made by the phone farm's API.",
            trigger=EventTrigger(
                after={"prefect.flow-run.heartbeat"},
                expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                        "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"},
                match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=timedelta(seconds=within_seconds),
            ),
            actions=[ChangeFlowRunState(state=StateType.CRASHED, message=PC_STOPPED_ANSWERING)],
        )
        with self._writing():
            existing = self._client.read_automations_by_name(DEAD_PC_AUTOMATION)
            if not existing:
                self._client.create_automation(automation)
            elif existing[0].trigger != automation.trigger or existing[0].actions != automation.actions:
                self._client.update_automation(existing[0].id, automation)
