"""What the benchmark measures, through the task API (and Prefect's own API, for comparison)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional

from bench.farm import Api, ApiError, Farm, MemorySampler
from bench.idle import phone_idle, prefect_server_cpu_seconds

PHONES = 10
PROFILE_LOAD_SECONDS = 5
STATUS_PENDING, STATUS_RUNNING, STATUS_COMPLETED, STATUS_FAILED = 0, 1, 2, 3


@dataclass(frozen=True)
class Sizes:
    stored_tasks: int
    read_requests: int
    create_repetitions: int
    to_running_samples: int
    throughput_tasks: int


FULL = Sizes(stored_tasks=10_000, read_requests=200, create_repetitions=5, to_running_samples=5, throughput_tasks=60)
# Throughput: several tasks queued per phone, so each phone has idle gaps between them to measure.
QUICK = Sizes(stored_tasks=2_000, read_requests=50, create_repetitions=3, to_running_samples=3, throughput_tasks=40)


def tomorrow() -> str:
    return (datetime.now().astimezone() + timedelta(days=1)).isoformat(timespec="seconds")


def follow_body(serials: list[str], targets: list[str], start_time: Optional[str]) -> dict:
    body = {"serials": serials, "script_name": "follow", "script_config": {"target_users": targets}}
    if start_time:
        body["start_time"] = start_time
    return body


def targets(prefix: str, count: int) -> list[str]:
    return [f"{prefix}_{i}" for i in range(count)]


def summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, max(0, int(round(0.99 * len(ordered))) - 1))]
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(p99 * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


def create(api: Api, body: dict) -> tuple[list[int], float]:
    data, seconds = api.post("/task", body, timeout=600)
    return data["task_ids"], seconds


def measure_create(api: Api, serials: list[str], repetitions: int) -> dict:
    one, hundred = [], []
    for rep in range(repetitions):
        ids, seconds = create(api, follow_body(serials[:1], [f"one_{rep}"], tomorrow()))
        assert len(ids) == 1, ids
        one.append(seconds)
        ids, seconds = create(api, follow_body(serials, targets(f"hundred_{rep}", 10), tomorrow()))
        assert len(ids) == 10 * len(serials), len(ids)
        hundred.append(seconds)
    results = {"create_1_task": summary(one), "create_100_tasks": summary(hundred)}
    ids, seconds = create(api, follow_body(serials, targets("thousand", 100), tomorrow()))
    assert len(ids) == 100 * len(serials), len(ids)
    results["create_1000_tasks"] = summary([seconds])
    return results


def fill_store(api: Api, serials: list[str], total: int, already: int, budget_s: float) -> tuple[dict, list[int]]:
    """Store `total` future tasks (counting those already created) in requests of 100, within budget_s (0: none)."""
    latencies, ids = [], []
    started = time.monotonic()
    batch = 0
    while already + len(ids) < total and not (budget_s and time.monotonic() - started > budget_s):
        new_ids, seconds = create(api, follow_body(serials, targets(f"fill{batch}", 10), tomorrow()))
        ids.extend(new_ids)
        latencies.append(seconds)
        batch += 1
        if batch % 10 == 0:
            print(f"  stored {already + len(ids)} tasks ({time.monotonic() - started:.0f} s)", flush=True)
    wall = time.monotonic() - started
    return {"tasks_created": len(ids), "target_total": total, "stored_total": already + len(ids),
            "budget_reached": already + len(ids) < total, "requests": batch, "wall_s": round(wall, 1),
            "tasks_per_s": round(len(ids) / wall, 1) if wall else None,
            "per_request": summary(latencies) if latencies else None}, ids


def repeat(requests_count: int, call: Callable[[int], float]) -> dict:
    return summary([call(i) for i in range(requests_count)])


def measure_reads(api: Api, task_ids: list[int], requests_count: int) -> dict:
    stats, _ = api.get("/task/stats")
    listing, _ = api.get("/task", params={"page_size": 20})
    step = max(1, len(task_ids) // requests_count)
    return {
        "stored_total": stats["total"],
        "list_total": listing["total"],
        "list_page_size_20": repeat(requests_count, lambda i: api.get(
            "/task", params={"page": 1 + i % 5, "page_size": 20})[1]),
        "list_status_0": repeat(requests_count, lambda i: api.get(
            "/task", params={"status": 0, "page_size": 20})[1]),
        "detail": repeat(requests_count, lambda i: api.get(f"/task/{task_ids[(i * step) % len(task_ids)]}")[1]),
        "stats": repeat(requests_count, lambda i: api.get("/task/stats")[1]),
    }


def wait_for_status(api: Api, task_id: int, wanted: set[int], timeout: float, interval: float = 0.1) -> tuple[dict, float]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        task, _ = api.get(f"/task/{task_id}")
        if task["status"] in wanted:
            return task, time.monotonic() - started
        time.sleep(interval)
    raise RuntimeError(f"task {task_id} not in status {wanted} within {timeout:.0f} s (last: {task})")


def measure_create_to_running(api: Api, serials: list[str], samples: int) -> tuple[dict, list[int]]:
    """Each sample on a different idle phone, so no run waits for its phone."""
    seconds, ids, skipped = [], [], []
    for sample in range(samples):
        started = time.monotonic()
        [task_id], _ = create(api, follow_body([serials[sample % len(serials)]], [f"torun_{sample}"], None))
        ids.append(task_id)
        task, _ = wait_for_status(api, task_id, {STATUS_RUNNING, STATUS_COMPLETED, STATUS_FAILED}, timeout=120)
        if task["status"] != STATUS_RUNNING:
            skipped.append({"id": task_id, "status": task["status"], "remark": task["remark"]})
            continue
        seconds.append(time.monotonic() - started)
    result = summary(seconds) if seconds else {"n": 0}
    result["not_seen_running"] = skipped
    return result, ids


def wait_until_finished(api: Api, task_ids: list[int], timeout: float, busy: Optional[list] = None) -> list[dict]:
    """The tasks once all have ended. With `busy`, a 50301 (Prefect too busy to answer its health
    check) is counted there and asked again, as a client would."""
    deadline = time.monotonic() + timeout
    pending = list(task_ids)
    finished = []
    while pending and time.monotonic() < deadline:
        try:
            task, _ = api.get(f"/task/{pending[0]}")
        except ApiError as refused:
            if busy is None or "50301" not in str(refused):
                raise
            busy.append(time.monotonic())
            time.sleep(1)
            continue
        if task["status"] >= STATUS_COMPLETED:
            finished.append(task)
            pending.pop(0)
        else:
            time.sleep(0.5)
    if pending:
        raise RuntimeError(f"{len(pending)} tasks still unfinished after {timeout:.0f} s: {pending[:10]}")
    return finished


def finished_count(api: Api) -> int:
    stats, _ = api.get("/task/stats")
    return stats["completed"] + stats["failed"]


def measure_throughput(api: Api, farm: Farm, serials: list[str], total: int) -> tuple[dict, dict]:
    per_phone = max(1, total // len(serials))
    baseline = finished_count(api)
    cpu_before = prefect_server_cpu_seconds(farm)
    with MemorySampler(farm) as sampler:
        started = time.monotonic()
        ids, create_seconds = create(api, follow_body(serials, targets("tput", per_phone), None))
        deadline = started + max(600, len(ids) * 10)
        while finished_count(api) < baseline + len(ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"throughput run not finished after {time.monotonic() - started:.0f} s")
            time.sleep(0.5)
        wall = time.monotonic() - started
    server_cpu = prefect_server_cpu_seconds(farm) - cpu_before
    tasks = wait_until_finished(api, ids, timeout=60)
    failed = [{"id": t["id"], "serial": t["serial"], "remark": t["remark"]} for t in tasks
              if t["status"] != STATUS_COMPLETED]
    return {
        "tasks": len(ids), "create_s": round(create_seconds, 2), "wall_s": round(wall, 1),
        "tasks_per_min": round(len(ids) / wall * 60, 1),
        "ideal_tasks_per_min": round(len(serials) * 60 / PROFILE_LOAD_SECONDS, 1),
        "completed": len(tasks) - len(failed), "failed": len(failed), "failures": failed,
        "phone_idle": phone_idle(farm, serials, set(ids)),
        "prefect_server_cpu_s": round(server_cpu, 1), "prefect_server_cpu_s_per_run": round(server_cpu / len(ids), 3),
    }, {"samples": sampler.samples, "busiest": sampler.busiest}




def count_by_outcome(api: Api, task_ids: set[int]) -> dict:
    """completed / failed / crashed (a failed task whose run crashed) among task_ids, read page by page."""
    counts = {"completed": 0, "failed": 0, "crashed": 0, "unfinished": 0}
    remarks: dict[str, int] = {}
    for status, name in ((STATUS_COMPLETED, "completed"), (STATUS_FAILED, "failed")):
        page = 1
        while True:
            data, _ = api.get("/task", params={"status": status, "page": page, "page_size": 100})
            for task in data["tasks"]:
                if task["id"] not in task_ids:
                    continue
                crashed = task["remark"].startswith("run crashed")
                counts["crashed" if crashed else name] += 1
                if status == STATUS_FAILED:
                    remarks[task["remark"][:120]] = remarks.get(task["remark"][:120], 0) + 1
            if page * 100 >= data["total"]:
                break
            page += 1
    counts["unfinished"] = len(task_ids) - counts["completed"] - counts["failed"] - counts["crashed"]
    counts["failure_remarks"] = remarks
    return counts




def wait_for_runs_created(api: Api, timeout: float = 1800) -> float:
    """Seconds until every stored task has its flow run (they are created behind the answers, the
    newest last): the newest task's flow_run_id is set."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        data, _ = api.get("/task", params={"page_size": 1})
        if not data["tasks"] or data["tasks"][0]["flow_run_id"]:
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"flow runs still being created after {timeout:.0f} s")


# ---------------------------------------------------------------- the Business plan: 100 phones on one PC


def measure_hundred_phones(api: Api, farm: Farm, serials: list[str], task_seconds: float) -> dict:
    """One task per phone, all at once; every process of the farm sampled for memory meanwhile."""
    with MemorySampler(farm) as sampler:
        started = time.monotonic()
        # A warm-up of task_seconds on each phone: a follow would give up on a profile that takes
        # a minute to load (the script waits 30 s for it).
        ids, create_seconds = create(api, {"serials": serials, "script_name": "account_warmup", "script_config": {
            "task_duration": task_seconds, "topic": "dogs", "min_duration": 5, "max_duration": 10,
            "like_probable": 0, "comment_probable": 0}})
        refused: list[float] = []
        tasks = wait_until_finished(api, ids, timeout=task_seconds + 900, busy=refused)
        wall = time.monotonic() - started
    outcome = count_by_outcome(api, set(ids))
    busiest = sampler.busiest
    return {
        "tasks": len(ids), "task_seconds": task_seconds, "create_s": round(create_seconds, 2),
        "wall_s": round(wall, 1), "most_runs_at_once": busiest.get("flow-run processes", {}).get("count", 0),
        "total_rss_mb": round(sum(entry["rss_mb"] for entry in busiest.values()), 1),
        "total_private_mb": round(sum(entry["private_mb"] for entry in busiest.values()), 1),
        "total_pss_mb": round(sum(entry.get("pss_mb", 0) for entry in busiest.values()), 1),
        "memory": busiest, **{k: outcome[k] for k in ("completed", "failed", "crashed", "unfinished")},
        "finished": len(tasks), "answers_50301": len(refused),
        "seconds_refused": round(refused[-1] - refused[0], 1) if refused else 0,
    }
