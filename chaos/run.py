"""One chaos run: the farm started, the workload and the faults for N minutes, the farm settled and stopped, the verdict."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import asdict
from pathlib import Path
from uuid import UUID

from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from chaos.checker import Records, Violation, verdict
from chaos.farm import CALLBACK_SECRET, online, start_farm, stop_farm, integrity
from chaos.faults import Injector
from chaos.workload import Ledger, Workload
from tests.harness import small_disk, until

DISK_MB = 2048  # the API PC's data directory has a disk of its own, which the disk-full fault fills


def listing(service) -> dict[int, dict]:
    tasks: dict[int, dict] = {}
    page = 1
    while True:
        data = service.ok("GET", f"/task?page={page}&page_size=100")
        tasks.update({task["id"]: task for task in data["tasks"]})
        if page * 100 >= data["total"]:
            return tasks
        page += 1


def prefect_states(service, tasks: dict[int, dict]) -> dict[int, str]:
    """Task id -> the state type of its flow run, read from Prefect itself."""
    by_run = {UUID(task["flow_run_id"]): task_id for task_id, task in tasks.items() if task.get("flow_run_id")}
    states: dict[int, str] = {}
    ids = list(by_run)
    with service.prefect() as prefect:
        for first in range(0, len(ids), 200):
            runs = prefect.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids[first:first + 200])))
            states.update({by_run[run.id]: run.state_type.value for run in runs if run.state_type})
    return states


def collect(farm, ledger: Ledger, started: float, api_down=()) -> Records:
    phones = farm.every_phone()
    tasks = listing(farm.service)
    return Records(created=set(ledger.created), deleted=set(ledger.deleted), maybe_deleted=set(ledger.maybe_deleted), tasks=tasks,
                   actions={serial: list(phone.actions) for serial, phone in phones.items()},
                   prefect_states=prefect_states(farm.service, tasks),
                   intervals={serial: phone.task_intervals() for serial, phone in phones.items()},
                   offline=set(phones) - online(farm.service), callbacks=farm.receiver.calls(),
                   callback_secret=CALLBACK_SECRET, with_callback=set(ledger.with_callback), started_at=started,
                   wall_offset=time.time() - time.monotonic(), plan=ledger.plan, api_down=list(api_down))


def settled(farm, ledger: Ledger, started: float, api_down) -> list[Violation]:
    """Violations left once the farm had time to finish what it was given; [] as soon as none is."""
    try:
        return verdict(collect(farm, ledger, started, api_down))
    except Exception as error:  # an API still restarting: not settled yet
        return [Violation("settling", -1, f"the farm did not answer: {error!r}")]


def chaos_run(minutes: float, seed: int, database: str, phones: int, root: Path, settle_seconds: float = 240,
              prefect_template=None, pcs: int = 0, keep_data: Path | None = None, disk_mb: int = DISK_MB) -> dict:
    """`phones` phones on the API's PC and on each of `pcs` worker PCs. With `keep_data`, the API PC's
    data directory is copied there before its disk goes."""
    disk = root / "farm"
    disk.mkdir()
    with small_disk(disk, disk_mb):
        try:
            return _run(minutes, seed, database, phones, root, settle_seconds, prefect_template, pcs)
        finally:
            if keep_data:
                shutil.copytree(disk, keep_data, symlinks=True, ignore_dangling_symlinks=True, dirs_exist_ok=True)


def _run(minutes, seed, database, phones, root, settle_seconds, prefect_template, pcs) -> dict:
    farm = start_farm(root, phones, database, prefect_template, pcs)
    ledger = Ledger()
    for phone in farm.every_phone().values():
        phone.missing_users.add("ghost")
    started = time.monotonic()
    end = started + minutes * 60
    injector = Injector(farm, seed, ledger)
    workload = Workload(farm.service, sorted(farm.every_phone()), farm.receiver.url, seed, ledger)
    threads = [threading.Thread(target=workload.run, args=(end,), name="workload"),
               threading.Thread(target=injector.run, args=(end, (4, 12)), name="faults")]
    problems: list[str] = []
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        faults_ended = time.monotonic()
        farm.service.wait_ready(180)  # a restart-api fault may have left it starting
        try:
            until(lambda: settled(farm, ledger, started, injector.api_down), settle_seconds, "settled", interval=3,
                  accept=lambda found: not found)
        except AssertionError:
            pass  # what is left is the verdict
        settle = time.monotonic() - faults_ended
        records = collect(farm, ledger, started, injector.api_down)
        violations = verdict(records)
    finally:
        problems += stop_farm(farm)
    problems += integrity(farm.data_dir)
    violations += [Violation("clean stop", -1, problem) for problem in problems]
    return {"seed": seed, "minutes": minutes, "database": database, "phones": phones, "worker_pcs": pcs,
            "tasks_created": len(ledger.created), "tasks_deleted": len(ledger.deleted),
            "phone_runs": sum(len(spans) for spans in records.intervals.values()),
            "phone_actions": sum(len(actions) for actions in records.actions.values()),
            "prefect_states_read": len(records.prefect_states),
            "callbacks": len(records.callbacks), "settle_s": round(settle, 1),
            "faults": [(round(moment - started, 1), what) for moment, what in injector.faults],
            "violations": [asdict(violation) | {"moment": round(violation.moment, 1)} for violation in violations],
            "steps": [(round(moment - started, 1), what) for moment, what in ledger.steps]}


def summary(report: dict) -> str:
    lines = [f"chaos run: seed {report['seed']}, {report['minutes']} min, {report['database']}, "
             f"{report['phones']} phones on the API's PC and on each of {report['worker_pcs']} worker PCs: "
             f"{report['tasks_created']} tasks created ({report['tasks_deleted']} deleted), "
             f"{report['phone_runs']} runs and {report['phone_actions']} actions on the phones, "
             f"{report['callbacks']} callbacks, {len(report['faults'])} faults, settled in {report['settle_s']} s"]
    lines += [f"  fault at {moment:7.1f} s: {what}" for moment, what in report["faults"]]
    lines.append(f"violations: {len(report['violations'])}")
    lines += [f"  [{v['invariant']}] at {v['moment']} s (seed {report['seed']}): {v['detail']}" for v in report["violations"]]
    return "\n".join(lines)


