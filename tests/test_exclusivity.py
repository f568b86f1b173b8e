"""One task per phone at a time, phones in parallel, and the plan's farm-wide cap: all by Prefect."""

from __future__ import annotations

import re

from prefect.client.schemas.actions import WorkPoolUpdate

from api.domain.plans import PLANS
from contract.names import WORK_POOL
from tests.harness import until

SAID_LIMIT = re.compile(r"at most (\d+) flow runs at once: the work pool's limit \(the plan's device limit\) (\d+), "
                        r"this PC's phones (\d+), --limit (\d+)")


def intervals(phone, ids):
    found = [(start, end) for tid, start, end in phone.task_intervals() if tid in ids]
    assert len(found) == len(ids) and all(end is not None for _, end in found), found
    return sorted(found)


def busy_at_once(phones, serials, ids) -> bool:
    """Whether every phone has one of these tasks started and not ended, at this moment."""
    return all(any(tid in ids and end is None for tid, _, end in phones[s].task_intervals()) for s in serials)


def test_tasks_on_one_phone_never_overlap_but_phones_run_in_parallel(service, phones):
    serials = phones.take(2)
    # Each phone's profile stays loading until both phones are seen working: proof of parallelism
    # that does not depend on how fast a loaded machine starts the runs.
    for serial in serials:
        phones[serial].profile_load_seconds = 600
    ids = service.create(serials, ["p1", "p2"])
    try:
        until(lambda: busy_at_once(phones, serials, ids), 60, "the two phones working at the same time")
    finally:
        for serial in serials:
            phones[serial].profile_load_seconds = 0
    for task_id in ids:
        assert service.wait_for(task_id, timeout=90)["status"] == 2
    per_phone = {s: [service.task(i)["id"] for i in ids if service.task(i)["serial"] == s] for s in serials}
    for serial in serials:
        phone_spans = intervals(phones[serial], per_phone[serial])
        for a, b in zip(phone_spans, phone_spans[1:]):
            assert a[1] <= b[0], f"two tasks overlapped on {serial}: {phone_spans}"


def test_device_limit_caps_running_tasks_across_the_farm(service, phones):
    serials = phones.take(3)
    for serial in serials:
        phones[serial].profile_load_seconds = 1
    with service.prefect() as prefect:
        prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(concurrency_limit=1))
        try:
            ids = service.create(serials, ["cap"])
            for task_id in ids:
                assert service.wait_for(task_id, timeout=90)["status"] == 2
        finally:
            prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(concurrency_limit=20))
    spans = sorted(
        (start, end) for serial in serials for tid, start, end in phones[serial].task_intervals() if tid in ids
    )
    assert len(spans) == 3
    for a, b in zip(spans, spans[1:]):
        assert a[1] <= b[0], f"more than one task ran at once under a cap of 1: {spans}"


def test_the_started_worker_runs_as_many_at_once_as_the_plan_and_its_phones_allow(service):
    """The launcher sets the work pool's limit to the plan's device limit; the worker follows it and
    this PC's phones, and PHONEFARM_WORKER_LIMIT (6 in the tests' services) only lowers that."""
    log = service.data_dir / "logs" / "worker.log"
    said = until(lambda: [m.groups() for m in SAID_LIMIT.finditer(log.read_text(errors="replace"))], 30,
                 "the worker never said its limit", accept=bool)
    # Other tests change the pool's limit for a while: the plan's is the one the launcher set.
    limit, pool, phones, cap = map(int, next(found for found in said if int(found[1]) == PLANS["Pro"].device_limit))
    assert cap == 6 and phones >= 1 and limit == min(pool, phones, cap), said
