"""Prefect's side of the farm's set-up: the process pool, its queues (one per phone), the cap on task runs, secrets."""

from __future__ import annotations

import threading
from typing import Optional

from prefect.client.schemas.actions import BlockDocumentCreate, DeploymentUpdate, WorkPoolCreate, WorkPoolUpdate
from prefect.client.schemas.objects import ConcurrencyOptions
from prefect.exceptions import ObjectAlreadyExists

from api.gateways.prefect_connection import PrefectConnection, PrefectPart, reachable
from contract.names import INBOX_QUEUE, device_queue
from worker.deployment_guard import locked_job_template


class WorkPool(PrefectPart):
    """The pool, its paused inbox and the phones' queues; the queues already made are remembered."""

    def __init__(self, connection: PrefectConnection):
        super().__init__(connection)
        self._queues: set[str] = set()
        self._queues_lock = threading.Lock()

    def ensure_work_pool(self, concurrency_limit: int) -> None:
        """The pool's own limit is the plan's farm-wide cap; its default queue is a paused inbox."""
        with self._writing():
            template = locked_job_template()
            try:
                self._client.create_work_pool(WorkPoolCreate(
                    name=self.work_pool, type="process", concurrency_limit=concurrency_limit,
                    base_job_template=template,
                ))
            except ObjectAlreadyExists:
                self._client.update_work_pool(
                    self.work_pool, WorkPoolUpdate(concurrency_limit=concurrency_limit, base_job_template=template)
                )
            self._ensure_queue(INBOX_QUEUE, concurrency_limit=None, paused=True)

    def cap_task_runs(self, limit: int) -> None:
        """The same cap on the task deployment, where Prefect takes a slot atomically (with a lease
        the run renews) as a run starts: the pool's limit is checked when a worker asks for runs, so two
        PCs asking at once could each take the last slot. A run over the cap waits (AwaitingConcurrencySlot)."""
        with self._writing():
            self._client.update_deployment(self.deployment_id(), DeploymentUpdate(
                concurrency_limit=limit, concurrency_options=ConcurrencyOptions(collision_strategy="ENQUEUE")))

    def _ensure_queue(self, name: str, *, concurrency_limit: Optional[int], paused: bool = False) -> None:
        try:
            self._client.create_work_queue(
                name=name, work_pool_name=self.work_pool, concurrency_limit=concurrency_limit
            )
        except ObjectAlreadyExists:
            pass
        queue = self._client.read_work_queue_by_name(name, work_pool_name=self.work_pool)
        if queue.concurrency_limit != concurrency_limit or queue.is_paused != paused:
            self._client.update_work_queue(queue.id, concurrency_limit=concurrency_limit, is_paused=paused)

    def ensure_device_queue(self, serial: str) -> str:
        """One queue per phone with a limit of 1: Prefect then never runs two tasks on it at once."""
        name = device_queue(serial)
        with self._queues_lock:
            if name in self._queues:
                return name
        with self._writing():
            self._ensure_queue(name, concurrency_limit=1)
        with self._queues_lock:
            self._queues.add(name)
        return name


class SecretStore(PrefectPart):
    """Values kept out of run parameters, as Prefect Secret blocks."""

    def save_secret(self, name: str, value: str) -> None:
        """A Prefect Secret block: the UI shows its name, never its value (stored encrypted)."""
        with reachable(self._health):
            block_type = self._client.read_block_type_by_slug("secret")
            schema = self._client.get_most_recent_block_schema_for_block_type(block_type.id)
        with self._writing():
            try:
                self._client.create_block_document(BlockDocumentCreate(
                    name=name, data={"value": value}, block_type_id=block_type.id, block_schema_id=schema.id,
                ))
            except ObjectAlreadyExists:
                pass  # named after the value's hash: an existing block holds the same value
