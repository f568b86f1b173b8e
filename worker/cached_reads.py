"""The worker's Prefect client, keeping a deployment's and a flow's reads for a few seconds."""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable
from uuid import UUID


class CachedReads:
    """Prefect's worker reads a run's deployment twice and its flow once for every run it starts,
    though the farm's deployments and flows change only when they are deployed again: each read is a
    server call on the run's way to Running. Anything else goes to the client as it is."""

    def __init__(self, client: Any, seconds: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self._client = client
        self.seconds = seconds
        self._clock = clock
        self._kept: dict[tuple[str, UUID], tuple[float, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def read_deployment(self, deployment_id: UUID) -> Any:
        return await self._read("deployment", deployment_id, self._client.read_deployment)

    async def read_flow(self, flow_id: UUID) -> Any:
        return await self._read("flow", flow_id, self._client.read_flow)

    def forget(self, deployment_id: UUID) -> None:
        """A refused deployment is read again for the next run: once restored, it runs at once."""
        self._kept.pop(("deployment", deployment_id), None)

    async def _read(self, kind: str, key: UUID, read: Callable[[UUID], Awaitable[Any]]) -> Any:
        kept = self._kept.get((kind, key))
        if kept is None or self._clock() - kept[0] > self.seconds:
            kept = (self._clock(), await read(key))
            self._kept[(kind, key)] = kept
        # A copy: Prefect merges a run's job variables into the deployment's `env` in place.
        return kept[1].model_copy(deep=True)
