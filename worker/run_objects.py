"""What the worker already read of a run, handed to its fork so the run does not ask the server again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import Flow, FlowRun, WorkPool, WorkQueue
from prefect.client.schemas.responses import DeploymentResponse
from prefect.events import related  # internal: its RESOURCE_CACHE
from prefect.runner._workspace_resolver import PreparedWorkspace, prepare_workspace  # internal
from prefect.types._datetime import now


@dataclass(frozen=True)
class RunObjects:
    """The run as the worker fetched it (Scheduled: the engine reads it again for its state), its
    deployment and flow (the worker's cached reads), and the work pool it polls."""

    flow_run: FlowRun
    deployment: DeploymentResponse
    flow: Flow
    work_pool: Optional[WorkPool]

    def work_queue(self) -> Optional[WorkQueue]:
        """The run's queue as an event names it (id, name): the run carries both."""
        if self.flow_run.work_queue_id is None or not self.flow_run.work_queue_name:
            return None
        return WorkQueue(id=self.flow_run.work_queue_id, name=self.flow_run.work_queue_name,
                         work_pool_id=self.work_pool.id if self.work_pool else None,
                         work_pool_name=self.work_pool.name if self.work_pool else None)


async def prepare_run_workspace(objects: RunObjects, workspace_root: Path | str) -> PreparedWorkspace:
    """Prefect's prepare_workspace_for_flow_run without its two reads (the run, its deployment)."""
    async with get_client() as client:
        return await prepare_workspace(client, objects.flow_run, objects.deployment, workspace_root)


def remember_related(objects: RunObjects) -> None:
    """Fill the cache Prefect's event emitter reads a run's flow, deployment, work queue and pool
    from: the first event of a task run otherwise reads all four, in every run's process."""
    entries: list[tuple[str, Any, Any]] = [
        ("flow", objects.flow.id, objects.flow),
        ("deployment", objects.deployment.id, objects.deployment),
        # Keyed by name, as a run names its pool; the run the worker fetched does not name it yet.
        ("work-pool", objects.work_pool.name if objects.work_pool else None, objects.work_pool),
        ("work-queue", objects.flow_run.work_queue_id, objects.work_queue()),
    ]
    for kind, key, value in entries:
        if key is not None and value is not None:
            related.RESOURCE_CACHE[f"{kind}.{key}"] = ({"kind": kind, "object": value}, now("UTC"))
