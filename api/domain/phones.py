"""The phones the farm knows: what the adb server sees now, remembered in the index."""

from __future__ import annotations

from dataclasses import asdict

from api.gateways.adb import AdbGateway
from api.gateways.index import Index
from api.gateways.prefect import Orchestrator
from flows.contract import SERIAL_TAG, tag_value


class PhoneDirectory:
    def __init__(self, adb: AdbGateway, index: Index, orchestrator: Orchestrator):
        self.adb = adb
        self.index = index
        self.orchestrator = orchestrator

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
        busy = {}
        for run in self.orchestrator.active_runs():
            serial = tag_value(run.tags, SERIAL_TAG)
            if serial:
                busy[serial] = run.parameters.get("task_id")
        return [
            {**asdict(phone), "busy": phone.serial in busy, "task_id": busy.get(phone.serial)}
            for phone in phones
        ]
