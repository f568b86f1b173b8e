"""GET /task/{id}/logs: what a task's run printed, read from Prefect, paged, across its re-runs."""

from __future__ import annotations

import time

from tests.harness import until
from tests.service import tomorrow


def all_lines(client, task_id: int) -> list[dict]:
    return client.ok("GET", f"/task/{task_id}/logs", params={"page_size": 100})["logs"]


def wait_for_line(client, task_id: int, predicate, timeout: float = 30) -> list[dict]:
    """A run's last lines reach Prefect as its process exits, a moment after its end state."""
    return until(lambda: all_lines(client, task_id), timeout, f"the line in the logs of task {task_id}",
                 interval=0.2, accept=lambda lines: any(predicate(line) for line in lines))


def settled_lines(client, task_id: int, quiet: float = 2.5, timeout: float = 30) -> list[dict]:
    """The lines once they stopped changing for longer than Prefect's log batch interval (2 s): a
    run's process sends its lines in batches, and under load one may land after a later one."""
    seen = {"lines": all_lines(client, task_id), "since": time.monotonic()}

    def quiet_long_enough() -> bool:
        if time.monotonic() - seen["since"] >= quiet:
            return True
        again = all_lines(client, task_id)
        if again != seen["lines"]:
            seen.update(lines=again, since=time.monotonic())
        return False

    until(quiet_long_enough, timeout, lambda _: f"the logs of task {task_id} kept changing: {seen['lines']}",
          interval=0.5)
    return seen["lines"]


def test_a_failed_task_shows_its_remark_and_a_retry_adds_its_own_lines(service, phones):
    [serial] = phones.take()
    phone = phones[serial]
    phone.missing_users.add("ghost")
    [task_id] = service.create([serial], ["ghost"])
    failed = service.wait_for(task_id)
    assert failed["status"] == 3 and "does not exist" in failed["remark"], failed
    failure_line = f"task {task_id} failed: {failed['remark']}"
    lines = wait_for_line(service, task_id, lambda line: line["level"] == "ERROR" and line["message"] == failure_line)
    assert any(f"follow on phone {serial}" in line["message"] for line in lines), lines

    phone.missing_users.clear()
    service.ok("POST", f"/task/{task_id}/retry")
    assert service.wait_for(task_id)["status"] == 2
    success_line = f"task {task_id} completed"
    # The engine's last line; lines sent by the run's process in its last moments may land a
    # little later with earlier times, so the lines are read until they stop changing.
    wait_for_line(service, task_id, lambda line: line["message"].startswith("Finished in state Completed"))
    lines = settled_lines(service, task_id)
    failure = next(i for i, line in enumerate(lines) if line["message"] == failure_line)
    success = next(i for i, line in enumerate(lines) if line["message"].startswith(success_line))
    assert failure < success, lines
    assert [line["time"] for line in lines] == sorted(line["time"] for line in lines)

    # Page by page, the same lines in the same order; the last page says there is no more.
    paged, page = [], 1
    while True:
        data = service.ok("GET", f"/task/{task_id}/logs", params={"page": page, "page_size": 3})
        assert (data["task_id"], data["page"], data["page_size"]) == (task_id, page, 3)
        paged += data["logs"]
        if not data["has_more"]:
            break
        assert len(data["logs"]) == 3
        page += 1
    assert paged == lines and page == (len(lines) + 2) // 3


def test_logs_of_a_task_not_run_yet_an_unknown_task_and_bad_paging(api, phones):
    [serial] = phones.take()
    [task_id] = api.create([serial], ["later"], start_time=tomorrow())
    data = api.ok("GET", f"/task/{task_id}/logs")
    assert (data["logs"], data["has_more"], data["page"], data["page_size"]) == ([], False, 1, 100)
    status, body = api.call("GET", "/task/987654321/logs")
    assert (status, body["code"]) == (404, 40401) and "987654321" in body["message"], body
    for params in ({"page_size": 0}, {"page_size": 101}, {"page": 0}, {"page": "x"}):
        status, body = api.call("GET", f"/task/{task_id}/logs", params=params)
        assert (status, body["code"]) == (400, 40001), (params, body)
