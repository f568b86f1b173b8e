"""GET /task/{id}/artifacts: the screenshot and UI hierarchy a failed task left, and each file."""

from __future__ import annotations

from pathlib import Path


from api.domain.errors import not_found
from api.rest import answers
from api.rest.resources.replies import ok
from api.domain.tasks import TaskService


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ArtifactStore:
    """Files under <data-dir>/artifacts/<task id>/, written by the flow on this PC."""

    def __init__(self, root: Path):
        self.root = root

    def files(self, task_id: int) -> list[Path]:
        folder = self.root / str(task_id)
        return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


class TaskArtifacts:
    def __init__(self, tasks: TaskService, store: ArtifactStore):
        self.tasks = tasks
        self.store = store

    def on_get(self, req, resp, task_id: int):
        self.tasks.row(task_id)  # 40401 for an unknown task
        ok(resp, answers.Artifacts, {"artifacts": [
            {"name": p.name, "size": p.stat().st_size,
             "url": f"{req.prefix}{req.path}/{p.name}"}
            for p in self.store.files(task_id)
        ]})


class TaskArtifactFile:
    def __init__(self, tasks: TaskService, store: ArtifactStore):
        self.tasks = tasks
        self.store = store

    def on_get(self, req, resp, task_id: int, name: str):
        self.tasks.row(task_id)
        # Only names that the listing shows: no path from the request reaches the file system.
        match = next((p for p in self.store.files(task_id) if p.name == name), None)
        if match is None:
            raise not_found(f"Task {task_id} has no artifact named {name!r}")
        data = match.read_bytes()
        # A phone wrote these: a PNG only when it is one; anything else is shown as text, never as a
        # document (a UI dump labelled XML could be XHTML with a script in it).
        resp.content_type = "image/png" if data.startswith(PNG_MAGIC) else "text/plain; charset=utf-8"
        resp.downloadable_as = match.name
        resp.data = data
