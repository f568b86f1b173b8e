"""The chaos run's steady mixed workload through the task API: creates, start_time tasks, callbacks, stops, retries, deletes."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests

from tests.service import Service

TIKTOK_POSTS = ["https://www.tiktok.com/@alice/video/7301234567890123456", "https://vm.tiktok.com/ZMabc123/"]
TARGETS = ["alice", "bob", "carol", "ghost"]  # ghost does not exist on the phones: its tasks fail, to be retried


@dataclass
class Ledger:
    """What the workload was answered: the ids the farm took, the deletions it accepted, each step done."""

    created: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    maybe_deleted: set[int] = field(default_factory=set)  # deletes that got no answer (the API frozen, killed, swamped)
    with_callback: set[int] = field(default_factory=set)
    steps: list[tuple[float, str]] = field(default_factory=list)
    plan: tuple[float, float] | None = None  # when the plan (every minute) was made and deleted
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str) -> None:
        with self.lock:
            self.steps.append((time.monotonic(), what))


class Workload:
    def __init__(self, service: Service, serials: list[str], callback_url: str, seed: int, ledger: Ledger):
        self.service, self.serials, self.callback_url = service, serials, callback_url
        self.rng = random.Random(f"workload-{seed}")
        self.answered = False  # whether the last call got an answer at all
        self.ledger = ledger

    def _call(self, method: str, path: str, **kwargs) -> dict | None:
        """The answer's data, or None: a refusal (50301 while Prefect is down) or no answer at all
        (the API being restarted) is part of the weather, not a result."""
        self.answered = False
        try:
            status, body = self.service.call(method, path, **kwargs)
        except (requests.RequestException, ValueError):
            return None
        self.answered = True
        return body.get("data") if status == 200 and body.get("code") == 0 else None

    def _create(self) -> None:
        phones = self.rng.sample(self.serials, self.rng.randint(1, 2))
        if self.rng.random() < 0.3:
            body = {"script_name": "comment", "script_config": {"target_post_urls": [self.rng.choice(TIKTOK_POSTS)],
                                                                "comment_content": "nice\ngreat"}}
        else:
            body = {"script_name": "follow", "script_config": {"target_users": [self.rng.choice(TARGETS)]}}
        body["serials"] = phones
        if self.rng.random() < 0.15:  # a start_time task: the next minute
            body["start_time"] = (datetime.now() + timedelta(minutes=1)).strftime("%H:%M")
        callback = self.rng.random() < 0.5
        if callback:
            body["callback_url"] = self.callback_url
        data = self._call("POST", "/task", json=body)
        if data:
            with self.ledger.lock:
                self.ledger.created.update(data["task_ids"])
                if callback:
                    self.ledger.with_callback.update(data["task_ids"])
            self.ledger.note(f"created {data['task_ids']} ({body['script_name']}{', start_time' if 'start_time' in body else ''})")

    def _some(self, status: int | None = None) -> int | None:
        query = "?page_size=50" + (f"&status={status}" if status is not None else "")
        data = self._call("GET", "/task" + query)
        return self.rng.choice(data["tasks"])["id"] if data and data["tasks"] else None

    def _act(self, verb: str, status: int | None) -> None:
        task_id = self._some(status)
        if task_id is None:
            return
        if verb == "delete":
            with self.ledger.lock:  # until answered, the delete may or may not have been done
                self.ledger.maybe_deleted.add(task_id)
            data = self._call("DELETE", f"/task/{task_id}")
            with self.ledger.lock:
                if data:
                    self.ledger.deleted.add(task_id)
                if data or self.answered:  # a refusal is an answer: nothing was deleted
                    self.ledger.maybe_deleted.discard(task_id)
        else:
            data = self._call("POST", f"/task/{task_id}/{verb}")
        if data is not None:
            self.ledger.note(f"{verb} {task_id}")

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.5:
            self._create()
        elif roll < 0.65:
            self._act("stop", self.rng.choice([0, 1]))
        elif roll < 0.8:
            self._act("retry", 3)
        elif roll < 0.85:
            if self._call("POST", "/task/retry-all") is not None:
                self.ledger.note("retry-all")
        elif roll < 0.93:
            self._act("delete", 3)
        else:
            self._call("GET", "/task/stats")

    def run(self, until: float, pause: tuple[float, float] = (0.3, 1.5)) -> None:
        plan = self.service.ok("POST", "/task", json={  # made before any fault: it fires at once, then every minute
            "serials": self.serials[:1], "script_name": "follow", "script_config": {"target_users": ["alice"]},
            "repeat": "every 1 minutes"})["plan_id"]
        made = time.monotonic()
        self.ledger.note(f"plan {plan} made: every minute")
        while time.monotonic() < until:
            self.step()
            time.sleep(self.rng.uniform(*pause))
        while self._call("DELETE", f"/plan/{plan}") is None:  # the API may be starting again
            time.sleep(1)
        self.ledger.plan = (made, time.monotonic())
        self.ledger.note(f"plan {plan} deleted")
