"""Which phones' queues this PC's worker serves: those its own adb server sees, told to the farm, minus any another PC also reports."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Optional

import anyio
from prefect.client.orchestration import PrefectClient
from prefect.events import emit_event
from prefect.exceptions import ObjectAlreadyExists

from devices.adb import AdbServer, list_phones_untouched
from devices.errors import DeviceError
from contract.names import WORK_POOL, device_queue
from worker.phone_health import HealthReadings
from contract.pcs import LIVE_SECONDS, latest_reports, now_utc, recent_reports_filter, report_event

log = logging.getLogger(__name__)
EVENT_PAGES = 10  # 50 events a page: at one report per 5 s and a 60-s window, about 40 PCs


def decide(mine: set[str], attached: set[str], others: set[str]) -> tuple[set[str], set[str], set[str]]:
    """(this PC's phones, the contested ones, the ones to serve) from the phones it had, those its adb
    server sees now and those the other live PCs report."""
    mine = (mine | attached) - (others - attached)  # a phone another PC reports and this one lost: moved
    contested = attached & others
    return mine, contested, mine - contested


class ServedPhones:
    """A phone belongs to the PC whose adb server sees it. A phone unplugged here stays this PC's
    (its queued tasks wait for it) until another PC reports it: it moved. A serial two live PCs
    report at once is served by neither (two phones with one serial, or one phone on two hosts):
    no run can be sure to reach the right phone, so its tasks wait until one of them is gone."""

    def __init__(self, pc: str, server: AdbServer, pool: str = WORK_POOL, silence_seconds: float = LIVE_SECONDS,
                 health: Optional[HealthReadings] = None):
        self.pc = pc
        self.silence_seconds = silence_seconds
        self.server = server
        self.pool = pool
        self.mine: set[str] = set()
        self.contested: set[str] = set()
        self._queues_made: set[str] = set()
        self.health = health
        self.kept_off: set[str] = set()

    async def round(self, client: PrefectClient) -> Optional[set[str]]:
        """Tell the farm this PC's phones; the queue names to serve, or None while the adb server does not answer."""
        try:
            phones = await anyio.to_thread.run_sync(list_phones_untouched, self.server)
        except DeviceError as error:
            log.warning("adb server %s does not answer (%s): serving no phone until it does", self.server.describe(), error)
            return None
        kept_off: set[str] = set()
        if self.health is not None:  # a few phones a round, each at most once an interval
            await anyio.to_thread.run_sync(self.health.refresh, [phone.serial for phone in phones if phone.state == "device"])
            kept_off = self.health.kept_off()
        emit_event(**report_event(self.pc, [{**asdict(phone), **(self.health.report(phone.serial) if self.health else {})}
                                            for phone in phones]))
        attached = {phone.serial for phone in phones}
        self.mine, contested, served = decide(self.mine, attached, await self._other_pcs_serials(client))
        for serial in sorted((kept_off & served) - self.kept_off):
            log.warning("phone %s takes no new task until it recovers: %s", serial, self.health.report(serial)["kept_off"])
        self.kept_off = kept_off
        served -= kept_off
        for serial in sorted(contested - self.contested):
            log.warning("phone %s is also reported by another PC: neither runs its tasks until one has it alone", serial)
        self.contested = contested
        await self._make_queues(client, served)
        return {device_queue(serial) for serial in served}

    async def _other_pcs_serials(self, client: PrefectClient) -> set[str]:
        now = now_utc()
        page = await client.read_events(recent_reports_filter(now, 2 * self.silence_seconds), limit=50)
        events = list(page.events)
        for _ in range(EVENT_PAGES - 1):
            if not page.next_page:
                break
            page = await client.read_events_page(str(page.next_page))
            events += page.events
        reports = latest_reports(events)
        return {serial for pc, report in reports.items() if pc != self.pc and report.live(now, self.silence_seconds)
                for serial in report.serials}

    async def _make_queues(self, client: PrefectClient, serials: set[str]) -> None:
        """Each phone's queue exists with a limit of 1 as soon as its PC sees it (the API makes it too)."""
        for serial in serials:
            name = device_queue(serial)
            if name in self._queues_made:
                continue
            try:
                await client.create_work_queue(name=name, work_pool_name=self.pool, concurrency_limit=1)
            except ObjectAlreadyExists:
                pass
            self._queues_made.add(name)
