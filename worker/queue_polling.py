"""How the fast worker polls Prefect: its PC's phones' queues only, the free ones, one phone's run at a time."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectNotFound

from contract.pcs import REPORT_SECONDS
from worker.queue_turns import due_now


class QueuePolling:
    """The polling side of worker.fast_worker.FastProcessWorker (set up in its __init__): which queues
    it serves and asks for, and which fetched runs it submits. Everything marked "internal" is
    Prefect's BaseWorker's, each an entry of worker.prefect_compat.REGISTRY."""

    async def refresh_served_queues(self) -> None:
        """Serve the queues of this PC's phones only (a Prefect worker given queues polls only those)."""
        queues = await self.served_phones.round(self.client)
        self._work_queues = queues if queues is not None else set()  # internal: the queues get_scheduled_flow_runs asks for

    async def keep_serving_own_phones(self) -> None:
        while True:
            await asyncio.sleep(REPORT_SECONDS)
            try:
                await self.refresh_served_queues()
            except Exception as error:  # the server restarts: the last known queues are served meanwhile
                print(f"could not refresh this PC's phones ({error}); trying again", flush=True)

    async def get_and_submit_flow_runs(self) -> list[FlowRun]:
        if self.served_phones is not None and not self._work_queues:
            return []  # no phone here: an empty queue list would mean every queue of the pool
        if self._pool_tampered():
            return []
        # internal: _work_pool (the pool's limit is the plan's), _work_queues (this PC's phones)
        self.run_limit.follow(self.limiter, self._work_pool, self._work_queues if self.served_phones is not None else None,
                              exiting=len(self._let_go))
        async with self._polling:  # the poll loop and an event's wake-up never fetch at once
            return await super().get_and_submit_flow_runs()

    async def _get_scheduled_flow_runs(self) -> list:  # internal
        if self.served_phones is None:  # the pool's every queue: names unknown here
            return await super()._get_scheduled_flow_runs()
        queues = self.poll_scope.queues(self._work_queues, self.turns.busy(self._work_queues), time.monotonic())
        if not queues:
            return []
        try:
            return await self.client.get_scheduled_flow_runs_for_work_pool(
                work_pool_name=self._work_pool_name, work_queue_names=queues,  # internal: _work_pool_name
                scheduled_before=datetime.now(timezone.utc) + timedelta(seconds=int(self._prefetch_seconds)))
        except ObjectNotFound:  # as the base: the pool is made again at the next heartbeat
            return []

    def _pool_tampered(self) -> bool:
        # The template every run's configuration is made from (refreshed at each heartbeat): without
        # the lock a run's job variables could choose its command. Said once per change, not per poll.
        refusal = self.guard and self.guard.template_tampered(self._work_pool)  # internal: _work_pool
        if refusal != self._pool_refusal:
            self._pool_refusal = refusal
            print(refusal or "the work pool's job template is the locked one again; runs start", flush=True)
        return refusal is not None

    async def _submit_scheduled_flow_runs(self, flow_run_response: list) -> list[FlowRun]:  # internal
        due, wait = due_now(flow_run_response, start_of=lambda entry: entry.flow_run.next_scheduled_start_time,
                            now=datetime.now(timezone.utc))
        if wait is not None:  # fetched within the prefetch window: it stays Scheduled until its time
            asyncio.get_running_loop().call_later(wait + 0.01, self.wakeup.wake)
        admitted = self.turns.admit(due, queue_of=lambda entry: entry.flow_run.work_queue_name,
                                    id_of=lambda entry: entry.flow_run.id)
        return await super()._submit_scheduled_flow_runs(admitted)
