"""While the Prefect server is down, reads answer from the index's copy and say so; every write is
refused (50301) and changes nothing. Through the Falcon resources, over the fake Prefect."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import falcon
import falcon.testing
import pytest

from api.domain.logs import TaskLogs
from api.domain.requests import TaskRequest
from api.domain.views import local_time
from api.gateways.disk import DiskSpace
from api.rest import errors
from api.rest.resources.tasks import (
    TaskCollection, TaskItem, TaskLogLines, TaskRetry, TaskRetryAll, TaskStats, TaskStop,
)
from tests.unit.test_domain_stop_retry_delete import created

FOLLOW = {"serials": ["s1"], "script_name": "follow", "script_config": {"target_users": ["b"]}}


@pytest.fixture
def api(tasks, index, tmp_path):
    app = falcon.App()
    errors.install(app, DiskSpace(tmp_path, 0))
    app.add_route("/task", TaskCollection(tasks, None, random.Random(1), index.answers))
    app.add_route("/task/stats", TaskStats(tasks))
    app.add_route("/task/retry-all", TaskRetryAll(tasks))
    app.add_route("/task/{task_id:int}", TaskItem(tasks))
    app.add_route("/task/{task_id:int}/stop", TaskStop(tasks))
    app.add_route("/task/{task_id:int}/retry", TaskRetry(tasks))
    app.add_route("/task/{task_id:int}/logs", TaskLogLines(TaskLogs(tasks)))
    return falcon.testing.TestClient(app)


def data(answer) -> dict:
    assert (answer.status_code, answer.json["code"]) == (200, 0), answer.json
    return answer.json["data"]


def test_reads_answer_from_the_copy_and_say_since_when(api, tasks, prefect):
    running, running_run = created(tasks, "s1")
    failed, failed_run = created(tasks, "s2")
    prefect.set_state(running_run, "RUNNING")
    prefect.set_state(failed_run, "FAILED", "target user @a does not exist")
    tasks.mirror.refresh([running_run, failed_run])
    up = {"list": data(api.simulate_get("/task")), "one": data(api.simulate_get(f"/task/{running}")),
          "stats": data(api.simulate_get("/task/stats"))}
    assert not any({"prefect", "as_of"} & set(answer) for answer in up.values())  # the contract's answers, unchanged

    prefect.up = False
    prefect.set_state(running_run, "COMPLETED")  # unseen: the copy keeps what it last knew
    notice = {"prefect": "down", "as_of": local_time(prefect.last_up)}
    assert data(api.simulate_get("/task")) == {**up["list"], **notice}
    assert data(api.simulate_get(f"/task/{running}")) == {**up["one"], **notice}
    assert data(api.simulate_get("/task/stats")) == {**up["stats"], **notice}
    assert up["stats"]["running"] == 1 and up["stats"]["failed"] == 1
    filtered = data(api.simulate_get("/task", params={"status": 3}))
    assert [t["id"] for t in filtered["tasks"]] == [failed] and filtered["prefect"] == "down"
    assert api.simulate_get("/task/999").json["code"] == 40401

    prefect.last_up = None  # never answered since the API started
    assert data(api.simulate_get("/task/stats"))["as_of"] is None


def test_writes_are_refused_and_change_nothing(api, tasks, prefect, index):
    pending, pending_run = created(tasks, "s1")
    failed, failed_run = created(tasks, "s2")
    prefect.set_state(failed_run, "FAILED")
    tasks.mirror.refresh([failed_run])
    before = data(api.simulate_get("/task"))
    prefect.up = False
    for method, path, body in [("POST", "/task", FOLLOW), ("POST", f"/task/{pending}/stop", None),
                               ("POST", f"/task/{failed}/retry", None), ("POST", "/task/retry-all", None),
                               ("DELETE", f"/task/{pending}", None), ("GET", f"/task/{pending}/logs", None)]:
        answer = api.simulate_request(method, path, json=body)
        assert (answer.status_code, answer.json["code"]) == (503, 50301), (method, path, answer.json)
        assert "Nothing was changed" in answer.json["message"]
    prefect.up = True
    assert data(api.simulate_get("/task")) == before
    assert [s.type for s in prefect.history[pending_run]] == ["SCHEDULED"]
    assert [s.type for s in prefect.history[failed_run]] == ["SCHEDULED", "FAILED"]
    assert index.tasks.get(failed).manual_retries == 0


def test_a_task_whose_run_waits_for_prefect_reads_pending(api, tasks, prefect):
    [task_id] = tasks.create(TaskRequest(**FOLLOW), datetime.now(timezone.utc), random.Random(1))
    prefect.up = False
    prefect.last_up = datetime(2026, 5, 1, 8, 30, tzinfo=timezone.utc)
    task = data(api.simulate_get(f"/task/{task_id}"))
    assert (task["status"], task["flow_run_id"], task["prefect"], task["as_of"]) == (
        0, None, "down", local_time(prefect.last_up))
