"""The phones the farm knows: this PC's adb server, the other PCs' reports in Prefect, remembered in the index."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from typing import Callable, Optional

from api.gateways.adb import AdbGateway
from api.gateways.index import PhoneTable, TaskFilter, TaskTable
from api.gateways.prefect_connection import OrchestratorUnavailable
from contract.pcs import LIVE_SECONDS, PcReport, now_utc


class PhoneDirectory:
    def __init__(self, adb: AdbGateway, phones: PhoneTable, table: TaskTable, *, pc_name: str = "local",
                 pc_reports: Optional[Callable[[float], dict[str, PcReport]]] = None,
                 silence_seconds: float = LIVE_SECONDS):
        self.adb = adb
        self.silence_seconds = silence_seconds
        self.phone_table = phones
        self.table = table
        self.pc_name = pc_name
        self._pc_reports = pc_reports
        self._reports: dict[str, PcReport] = {}
        self._read_once = False  # until the first read, a PC without a report is not known to be silent
        self._freshest: Optional[datetime] = None  # the newest report of any PC, this one's worker included
        self._reading = threading.Lock()
        self._health: dict[str, dict] = {}  # serial -> its PC's latest word on its health (this PC's too)

    def refresh_other_pcs(self) -> None:
        """Read the other PCs' latest reports from Prefect (the keeper does, every round, so no
        request waits on it); a PC gone silent keeps its last one, and new serials are remembered."""
        if self._pc_reports is None:
            return
        try:
            read = self._pc_reports(2 * self.silence_seconds)
        except OrchestratorUnavailable:
            return
        fresh = {pc: r for pc, r in read.items() if pc != self.pc_name}
        with self._reading:
            seen = [r.at for r in read.values()] + ([self._freshest] if self._freshest else [])
            self._freshest = max(seen, default=None)
            # A PC silent past the window of events read stays listed (offline) with its last phones.
            now = now_utc()
            self._health = {phone["serial"]: {"health": phone.get("health"), "kept_off": phone.get("kept_off")}
                            for report in sorted(read.values(), key=lambda r: r.at) if report.live(now, self.silence_seconds)
                            for phone in report.phones}
            reports = {**self._reports, **fresh}
            known = {s for r in self._reports.values() for s in r.serials}
            self._reports = reports
            self._read_once = True
        new = {s for r in reports.values() for s in r.serials} - known
        if new:
            self.phone_table.remember_phones(new)

    def kept_off(self) -> dict[str, str]:
        """Phones that take no new task until they recover (their PC's health guards), with why."""
        return {serial: word["kept_off"] for serial, word in self._health.items() if word.get("kept_off")}

    def other_pcs(self) -> dict[str, PcReport]:
        return self._reports

    def silent_pcs(self) -> Optional[dict[str, datetime]]:
        """Other PCs whose worker stopped reporting (killed, powered off, off the network), with
        their last report's time; None until the reports were read once. (A PC with no report
        within the window read since this API started is not listed: it is not among other_pcs.)

        Silence is judged against the farm's freshest report too, this PC's own worker's included:
        when the Prefect server is too busy to store events on time, every PC's reports are late
        alike, and none is judged gone for it (3 PCs of 100 busy phones on two cores: 53 runs were
        failed as their PC's while every PC was alive)."""
        if not self._read_once:
            return None
        now, freshest = now_utc(), self._freshest
        return {pc: report.at for pc, report in self._reports.items()
                if not report.live(now, self.silence_seconds) and freshest is not None and not report.live(freshest, self.silence_seconds)}

    def owner_of(self, serial: str) -> Optional[str]:
        """The PC whose newest report lists this phone (silent PCs included), if any other does."""
        reporting = [(report.at, pc) for pc, report in self._reports.items() if serial in report.serials]
        return max(reporting)[1] if reporting else None

    def _live_other_phones(self) -> list[tuple[str, dict]]:
        now = now_utc()
        return [(pc, phone) for pc, report in self.other_pcs().items() if report.live(now, self.silence_seconds)
                for phone in report.phones]

    def seen_now(self, with_models: bool = True):
        """The phones attached here now, remembered as known (a write: not for health checks)."""
        phones = self.adb.phones(with_models=with_models)
        self.phone_table.remember_phones(p.serial for p in phones)
        return phones

    def attached_count(self) -> int:
        """Phones ready for tasks now, farm-wide; reads only, so a flood of health checks writes nothing."""
        return len(self.attached_here()) + sum(1 for _, phone in self._live_other_phones() if phone.get("state") == "device")

    def attached_here(self) -> set[str]:
        """This PC's phones ready now (reads only)."""
        return {p.serial for p in self.adb.phones(with_models=False) if p.state == "device"}

    def attached_serials(self) -> set[str]:
        here = {p.serial for p in self.seen_now(with_models=False) if p.state == "device"}
        return here | {phone["serial"] for _, phone in self._live_other_phones() if phone.get("state") == "device"}

    def known_serials(self) -> set[str]:
        """Phones attached now (on any PC: refresh_other_pcs remembers theirs) or ever seen: a task
        for an unplugged phone waits for it."""
        return {p.serial for p in self.seen_now(with_models=False)} | self.phone_table.known_phones()

    def listing(self) -> list[dict]:
        """Every PC's phones with the PC's name. A silent PC's phones show offline; a serial two PCs
        report at once is `contested`: neither PC runs its tasks until one has it alone."""
        entries = [(self.pc_name, {**asdict(phone)}) for phone in self.seen_now()]
        now = now_utc()
        for pc, report in sorted(self.other_pcs().items()):
            live = report.live(now, self.silence_seconds)
            entries += [(pc, {"serial": phone["serial"], "model": str(phone.get("model", "")),
                              "state": str(phone.get("state", "")) if live else "offline"}) for phone in report.phones]
        reported = Counter(phone["serial"] for _, phone in entries if phone["state"] != "offline")
        contested = {serial for serial, times in reported.items() if times > 1}
        # The index's copy of run states: the tasks holding a phone now.
        holding = self.table.page(TaskFilter(state_types=("PENDING", "RUNNING", "CANCELLING")), offset=0, limit=10_000)
        busy = {row.serial: row.id for row in reversed(holding)}
        return [
            {**phone, "pc": pc, "contested": phone["serial"] in contested,
             "busy": phone["serial"] in busy, "task_id": busy.get(phone["serial"]),
             "health": self._health.get(phone["serial"], {}).get("health"),
             "kept_off": self._health.get(phone["serial"], {}).get("kept_off")}
            for pc, phone in entries
        ]
