"""Background upkeep while the API runs: adopt UI runs, record account reads, finish stops, purge."""

from __future__ import annotations

import logging
from typing import Callable, Union

from api.domain.triggers import Trigger
from api.gateways.prefect import OrchestratorUnavailable
from api.loop import Loop

log = logging.getLogger(__name__)


Chore = Union[Callable[[], object], tuple[Callable[[], object], Trigger]]


class Keeper(Loop):
    """Runs each chore every `interval_seconds` (one with a trigger only when it is due); one that
    fails is tried again on the next round."""

    def __init__(self, chores: list[Chore], interval_seconds: float, *, name: str = "index-keeper"):
        super().__init__(name, interval_seconds)
        self.chores = [chore if isinstance(chore, tuple) else (chore, None) for chore in chores]

    def run_once(self) -> None:
        for chore, trigger in self.chores:
            if trigger is not None and not trigger.due():
                continue
            try:
                chore()
            except OrchestratorUnavailable:
                if trigger is not None:
                    trigger.fire()
                return  # the API already answers 50301; try again on the next round
            except Exception:
                if trigger is not None:
                    trigger.fire()
                log.exception("upkeep %s failed; will try again", getattr(chore, "__qualname__", chore))
