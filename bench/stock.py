"""The stock figures for creates and reads: the same asked of Prefect's own API on the farm's server."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from bench.farm import Farm
from bench.measures import repeat, summary

# The four counts of the API's stats (pending, running, completed, failed), as Prefect's state types.
STATS_GROUPS = [("SCHEDULED", "PENDING", "PAUSED"), ("RUNNING", "CANCELLING"), ("COMPLETED",),
                ("FAILED", "CRASHED", "CANCELLED")]


def farm_runs(deployment_id, *types: str):
    """Prefect's filter for the farm's task runs (of these state types, if any given)."""
    from prefect.client.schemas.filters import (
        FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterState, FlowRunFilterStateType, FlowRunFilterTags)
    from prefect.client.schemas.objects import StateType

    from contract.names import FARM_TAG

    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(t) for t in types])) if types else None
    return FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
                         tags=FlowRunFilterTags(all_=[FARM_TAG]), state=state)


def direct_run(prefect, deployment_id, serial: str, target: str, start: datetime):
    """What a stock set-up does for one task: a run of the farm's deployment in the phone's queue."""
    from prefect.states import Scheduled

    from contract.names import TaskParameters, device_queue, task_tags

    return prefect.create_flow_run_from_deployment(
        deployment_id, name=f"direct-{target}",
        parameters=TaskParameters(serial=serial, script_name="follow",
                                  script_config={"target_users": [target]}).as_dict(),
        tags=task_tags(serial, "follow", "api"), state=Scheduled(scheduled_time=start),
        work_queue_name=device_queue(serial))


def prefect_create(farm: Farm, serials: list[str], repetitions: int) -> dict:
    """What a stock set-up does to make one run per task: one create_flow_run_from_deployment each."""
    from contract.names import DEPLOYMENT

    start = datetime.now().astimezone() + timedelta(days=1)
    one, hundred = [], []
    with farm.prefect() as prefect:
        deployment_id = prefect.read_deployment_by_name(DEPLOYMENT).id

        def make(serial: str, target: str) -> None:
            direct_run(prefect, deployment_id, serial, target, start)

        for rep in range(repetitions):
            started = time.perf_counter()
            make(serials[0], f"direct_one_{rep}")
            one.append(time.perf_counter() - started)
            started = time.perf_counter()
            for serial in serials:
                for i in range(10):
                    make(serial, f"direct_hundred_{rep}_{i}")
            hundred.append(time.perf_counter() - started)
    return {"create_1_task": summary(one), "create_100_tasks": summary(hundred)}


def prefect_reads(farm: Farm, requests_count: int) -> dict:
    """List, filtered list, detail and stats answered by Prefect's filter, read and count endpoints."""
    from prefect.client.schemas.sorting import FlowRunSort

    from contract.names import DEPLOYMENT

    with farm.prefect() as prefect:
        deployment_id = prefect.read_deployment_by_name(DEPLOYMENT).id
        every_run = farm_runs(deployment_id)
        ids = [run.id for run in prefect.read_flow_runs(flow_run_filter=every_run, limit=200)]

        def timed(call) -> float:
            started = time.perf_counter()
            call()
            return time.perf_counter() - started

        def page(i: int) -> float:
            return timed(lambda: (prefect.read_flow_runs(flow_run_filter=every_run, sort=FlowRunSort.NAME_DESC,
                                                         offset=20 * (i % 5), limit=20),
                                  prefect.count_flow_runs(flow_run_filter=every_run)))

        def pending(i: int) -> float:
            wanted = farm_runs(deployment_id, "SCHEDULED", "PENDING", "PAUSED")
            return timed(lambda: (prefect.read_flow_runs(flow_run_filter=wanted, sort=FlowRunSort.NAME_DESC, limit=20),
                                  prefect.count_flow_runs(flow_run_filter=wanted)))

        def stats(i: int) -> float:
            return timed(lambda: [prefect.count_flow_runs(flow_run_filter=farm_runs(deployment_id, *group)) for group in STATS_GROUPS])

        return {
            "list_page_size_20": repeat(requests_count, page),
            "list_status_0": repeat(requests_count, pending),
            "detail": repeat(requests_count, lambda i: timed(lambda: prefect.read_flow_run(ids[i % len(ids)]))),
            "stats": repeat(requests_count, stats),
        }
