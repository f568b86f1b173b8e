"""Falcon resources of /task: they parse the request, call the task service and wrap the answer."""

from __future__ import annotations

import random
from datetime import datetime

from api.domain.errors import not_found
from api.domain.idempotency import HEADER as IDEMPOTENCY_HEADER, Idempotency, check_key
from api.domain.logs import TaskLogs
from api.domain.recurring import PlanBook
from api.domain.tasks import ListFilters, TaskService
from api.gateways.index import AnswerTable
from api.rest import answers
from api.rest.resources.replies import media, ok
from api.rest.schemas import CreateTaskBody, ListQuery, LogsQuery, TaskIdsBody, parse_body, task_request


class TaskCollection:
    def __init__(self, tasks: TaskService, plans: PlanBook, rng: random.Random, answers: AnswerTable):
        self.tasks = tasks
        self.plans = plans
        self.rng = rng
        self.idempotency = Idempotency(answers)

    def on_get(self, req, resp):
        query = parse_body(ListQuery, dict(req.params))
        filters = ListFilters(query.status, query.serial, query.script_name, query.source, query.plan_id)
        ok(resp, answers.TaskList, self.tasks.list(filters, query.page, query.page_size))

    def on_post(self, req, resp):
        key = req.get_header(IDEMPOTENCY_HEADER)
        if key is not None:
            check_key(key)
        body = parse_body(CreateTaskBody, media(req))

        def create() -> dict:
            request, now = task_request(body), datetime.now().astimezone()
            if request.repeat is not None:  # a recurring plan: tasks come at each firing
                plan = self.plans.create(request, now)
                return {"plan_id": plan["id"], "plan": plan, "task_ids": [], "created_count": 0}
            ids = self.tasks.create(request, now, self.rng)
            return {"task_ids": ids, "created_count": len(ids)}

        if key is None:
            ok(resp, answers.Created, create())
            return
        answer, replayed = self.idempotency.answer(key, media(req), create)
        resp.set_header("Idempotent-Replayed", "true" if replayed else "false")
        ok(resp, answers.Created, answer)


class TaskItem:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks

    def on_get(self, req, resp, task_id: int):
        ok(resp, answers.TaskDetail, self.tasks.detail(task_id))

    def on_delete(self, req, resp, task_id: int):
        result = self.tasks.delete([task_id])
        if result["not_found"]:
            raise not_found(f"Task {task_id} not found")
        ok(resp, answers.Deleted, {"deleted_count": result["deleted_count"]})


class TaskBatch:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks

    def on_delete(self, req, resp):
        body = parse_body(TaskIdsBody, media(req))
        ok(resp, answers.BatchDeleted, self.tasks.delete(body.task_ids))


class TaskStop:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks

    def on_post(self, req, resp, task_id: int):
        ok(resp, answers.Task, self.tasks.stop(task_id))


class TaskRetry:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks

    def on_post(self, req, resp, task_id: int):
        ok(resp, answers.Task, self.tasks.retry(task_id))


class TaskRetryAll:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks

    def on_post(self, req, resp):
        ok(resp, answers.RetriedAll, {"retried_count": self.tasks.retry_all()})


class TaskLogLines:
    def __init__(self, logs: TaskLogs):
        self.logs = logs

    def on_get(self, req, resp, task_id: int):
        query = parse_body(LogsQuery, dict(req.params))
        ok(resp, answers.Logs, self.logs.page(task_id, query.page, query.page_size))


class TaskStats:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks

    def on_get(self, req, resp):
        ok(resp, answers.Stats, self.tasks.stats())
