"""Background upkeep while the API runs: adopt UI runs, record account reads, finish stops, purge."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from api.gateways.prefect import OrchestratorUnavailable

log = logging.getLogger(__name__)


class Keeper:
    """Runs each chore every `interval_seconds`; one that fails is tried again on the next round."""

    def __init__(self, chores: list[Callable[[], object]], interval_seconds: float):
        self.chores = chores
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="index-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()

    def run_once(self) -> None:
        for chore in self.chores:
            try:
                chore()
            except OrchestratorUnavailable:
                return  # the API already answers 50301; try again on the next round
            except Exception:
                log.exception("upkeep %s failed; will try again", getattr(chore, "__qualname__", chore))
