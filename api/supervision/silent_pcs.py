"""The runs of a PC that stopped answering: its worker's phone reports stopped, and nothing there will end its runs."""

from __future__ import annotations

import logging
from typing import Optional

from api.domain.phones import PhoneDirectory
from api.gateways.prefect import Orchestrator
from api.gateways.prefect_pcs import PC_STOPPED_ANSWERING
from api.supervision import orphans
from contract.names import device_queue
from contract.pcs import WORKER_LABEL, pc_of_worker


class SilentPcs:
    """A keeper chore. Every PC's worker reports its phones every 5 s (worker/served_phones.py); one
    silent for 30 s is gone, and its runs are settled as a dead worker's are on its own PC
    (orphans.settle): a started run is Crashed with "the PC running it stopped answering...", one
    its worker took but never started goes back to its queue. Prefect's heartbeat automation did
    this before, at about 0.3 CPU-s of the Prefect server per run; silence costs nothing per run.
    It looks when the set of silent PCs changes (and once at start: a PC may have died while the
    API was down), not every round."""

    def __init__(self, phones: PhoneDirectory, orchestrator: Orchestrator, log: Optional[logging.Logger] = None):
        self.phones, self.orchestrator = phones, orchestrator
        self.log = log or logging.getLogger(__name__)
        self._looked_at: Optional[dict] = None

    def settle(self) -> None:
        silent = self.phones.silent_pcs()
        if silent is None or silent == self._looked_at:
            return
        gone = self._phones_of_gone_pcs(silent)
        if gone:
            crashed, requeued = orphans.settle(self.orchestrator, PC_STOPPED_ANSWERING, gone)
            self.log.warning("PCs %s stopped answering: %d run(s) marked crashed, %d put back in their queue",
                             sorted(silent), crashed, requeued)
        self._looked_at = silent  # only once settled: an unreachable Prefect is tried again next round

    def _phones_of_gone_pcs(self, silent: dict) -> set[str]:
        """Phones of the active runs taken by a PC that is silent, or that has not reported at all
        within the window read (a worker names its PC in the run's labels; before it has, the
        phone's newest report tells)."""
        reporting = self.phones.other_pcs()
        gone = set()
        for run in self.orchestrator.runs.active_runs():
            serial = run.work_queue_name.removeprefix(device_queue("")) if run.work_queue_name else None
            worker = (run.labels or {}).get(WORKER_LABEL)
            pc = pc_of_worker(str(worker)) if worker else (self.phones.owner_of(serial) if serial else None)
            if serial and pc and pc != self.phones.pc_name and (pc in silent or pc not in reporting):
                gone.add(serial)
        return gone
