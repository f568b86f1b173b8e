"""worker.cached_reads: the worker's deployment and flow reads, kept a few seconds, each caller given a copy."""

from __future__ import annotations

import asyncio
import uuid

from pydantic import BaseModel

from worker.cached_reads import CachedReads


class Deployment(BaseModel):
    id: uuid.UUID
    job_variables: dict


class Client:
    def __init__(self):
        self.reads: list[str] = []

    async def read_deployment(self, deployment_id):
        self.reads.append("deployment")
        return Deployment(id=deployment_id, job_variables={"env": {"A": "1"}})

    async def read_flow(self, flow_id):
        self.reads.append("flow")
        return Deployment(id=flow_id, job_variables={})

    async def update_flow_run_labels(self, flow_run_id, labels):
        self.reads.append("labels")


def test_reads_are_kept_for_their_seconds_and_other_calls_pass_through():
    client = Client()
    now = [0.0]
    cached = CachedReads(client, seconds=0.2, clock=lambda: now[0])
    deployment_id = uuid.uuid4()

    async def scenario():
        await cached.read_deployment(deployment_id)
        await cached.read_deployment(deployment_id)
        await cached.read_flow(deployment_id)  # another kind with the same id is another entry
        await cached.update_flow_run_labels(uuid.uuid4(), {})
        now[0] += 0.3
        await cached.read_deployment(deployment_id)

    asyncio.run(scenario())
    assert client.reads == ["deployment", "flow", "labels", "deployment"]


def test_a_caller_that_changes_what_it_read_changes_its_copy_only():
    """Prefect merges a run's job variables into the deployment's env dict in place."""
    cached = CachedReads(Client())
    deployment_id = uuid.uuid4()
    first = asyncio.run(cached.read_deployment(deployment_id))
    first.job_variables["env"]["RUN"] = "one run's"
    again = asyncio.run(cached.read_deployment(deployment_id))
    assert again.job_variables == {"env": {"A": "1"}}
