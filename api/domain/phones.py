"""The phones the farm knows: what the adb server sees now, remembered in the index."""

from __future__ import annotations

from dataclasses import asdict

from api.gateways.adb import AdbGateway
from api.gateways.index import Index, TaskFilter


class PhoneDirectory:
    def __init__(self, adb: AdbGateway, index: Index):
        self.adb = adb
        self.index = index

    def seen_now(self, with_models: bool = True):
        """The phones attached now, remembered as known (a write: not for health checks)."""
        phones = self.adb.phones(with_models=with_models)
        self.index.remember_phones(p.serial for p in phones)
        return phones

    def attached_count(self) -> int:
        """Phones ready for tasks now; reads only, so a flood of health checks writes nothing."""
        return sum(1 for p in self.adb.phones(with_models=False) if p.state == "device")

    def attached_serials(self) -> set[str]:
        return {p.serial for p in self.seen_now(with_models=False) if p.state == "device"}

    def known_serials(self) -> set[str]:
        """Phones attached now or ever seen: a task for an unplugged phone waits for it."""
        return {p.serial for p in self.seen_now(with_models=False)} | self.index.known_phones()

    def listing(self) -> list[dict]:
        phones = self.seen_now()
        # The index's copy of run states: the tasks holding a phone now.
        holding = self.index.page(TaskFilter(state_types=("PENDING", "RUNNING", "CANCELLING")), offset=0, limit=10_000)
        busy = {row.serial: row.id for row in reversed(holding)}
        return [
            {**asdict(phone), "busy": phone.serial in busy, "task_id": busy.get(phone.serial)}
            for phone in phones
        ]
