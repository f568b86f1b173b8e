"""The phones the farm knows: what the adb server sees now, remembered in the index."""

from __future__ import annotations

from dataclasses import asdict

from api.index import Index
from api.orchestrator import Orchestrator, tag_value
from devices.accounts import read_accounts
from devices.adb import AdbServer, list_phones


class PhoneDirectory:
    def __init__(self, adb: AdbServer, index: Index, orchestrator: Orchestrator):
        self.adb = adb
        self.index = index
        self.orchestrator = orchestrator

    def seen_now(self, with_models: bool = True):
        phones = list_phones(self.adb, with_models=with_models)
        self.index.remember_phones(p.serial for p in phones)
        return phones

    def known_serials(self) -> set[str]:
        """Phones attached now or ever seen: a task for an unplugged phone waits for it."""
        return {p.serial for p in self.seen_now(with_models=False)} | self.index.known_phones()

    def listing(self) -> list[dict]:
        phones = self.seen_now()
        busy = {}
        for run in self.orchestrator.active_runs():
            serial = tag_value(run.tags, "serial")
            task_id = run.parameters.get("task_id")
            if serial:
                busy[serial] = task_id
        return [
            {**asdict(phone), "busy": phone.serial in busy, "task_id": busy.get(phone.serial)}
            for phone in phones
        ]

    def read_accounts(self, serial: str) -> list[tuple[str, str]]:
        """(platform, username) of every account logged in on the phone's apps."""
        return read_accounts(self.adb, serial)
