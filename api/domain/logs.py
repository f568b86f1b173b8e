"""What a task's run printed: Prefect's log lines of its flow run (every re-run of it too), paged, oldest first."""

from __future__ import annotations

from api.domain.tasks import TaskService

MAX_LOG_PAGE_SIZE = 100  # Prefect answers at most 200 log lines a request; one more tells if a page follows


class TaskLogs:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks

    def page(self, task_id: int, page: int, page_size: int) -> dict:
        self.tasks.require_prefect()  # the lines are Prefect's: the index holds none
        row = self.tasks.row(task_id)
        lines = [] if row.flow_run_id is None else self.tasks.runs.logs(
            row.flow_run_id, offset=(page - 1) * page_size, limit=page_size + 1)  # one more: is there a next page?
        return {
            "task_id": task_id,
            "flow_run_id": row.flow_run_id,
            "page": page,
            "page_size": page_size,
            "has_more": len(lines) > page_size,
            "logs": [{"time": line.time.astimezone().isoformat(timespec="milliseconds"), "level": line.level,
                      "message": line.message} for line in lines[:page_size]],
        }
