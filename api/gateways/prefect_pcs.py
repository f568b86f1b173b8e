"""The farm's PCs in Prefect: the phones each PC's worker reports (events)."""

from __future__ import annotations

from api.gateways.prefect_connection import PrefectPart, reachable
from contract.pcs import PcReport, latest_reports, now_utc, recent_reports_filter

PC_STOPPED_ANSWERING = "the PC running it stopped answering; retry it if it should run again"
# The dead-PC automations of the last version: they cost the Prefect server about 0.3 CPU-s a run
# (every flow-run event evaluated against them, a bucket kept per run); a silent PC's report now
# tells the same (api/domain/phones.py), so they are deleted where they exist.
OLD_AUTOMATIONS = ("phonefarm: end the runs of a PC that stopped answering",
                   "phonefarm: put back the runs a PC took but never started")
EVENT_PAGES = 10


class FarmPcs(PrefectPart):
    """The farm's PCs as their workers report them."""

    def pc_reports(self, window_seconds: float) -> dict[str, PcReport]:
        """Each PC's newest report of its phones over the window (older PCs are not listed)."""
        with reachable(self._health):
            page = self._client.read_events(recent_reports_filter(now_utc(), window_seconds), limit=50)
            events = list(page.events)
            for _ in range(EVENT_PAGES - 1):
                if not page.next_page:
                    break
                page = self._client.read_events_page(str(page.next_page))
                events += page.events
        return latest_reports(events)

    def remove_automations(self, names: tuple[str, ...]) -> None:
        """Delete automations an earlier version of the service made (see OLD_AUTOMATIONS)."""
        with self._writing():
            for name in names:
                for automation in self._client.read_automations_by_name(name):
                    self._client.delete_automation(automation.id)
