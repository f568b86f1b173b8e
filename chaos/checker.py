"""The chaos run's verdict: the promises checked against what the phones, the index and the callback receiver recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

FINAL = (2, 3)
PREFECT_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
FIRING_SECONDS = 15  # from a firing's moment to its tasks stored, at most, on a farm under faults


@dataclass(frozen=True)
class Violation:
    invariant: str  # which promise: "one run a phone", "every task ends", ...
    moment: float  # seconds since the run began (the phones' clock), or -1 when it has no moment
    detail: str


@dataclass
class Records:
    """What the run collected once the farm settled: the ground truth and the farm's own books."""

    created: set[int]  # every task id the API answered for
    deleted: set[int]  # ids a delete was answered for
    tasks: dict[int, dict]  # the API's listing after settling, by id
    intervals: dict[str, list[tuple[int, float, float | None]]]  # serial -> the phone's (task, start, end) markers
    maybe_deleted: set[int] = field(default_factory=set)  # ids whose delete got no answer: listed or not, both are right
    offline: set[str] = field(default_factory=set)  # serials still offline when the run settled
    callbacks: list[dict] = field(default_factory=list)  # the receiver's record, one dict a call
    callback_secret: str = ""
    with_callback: set[int] = field(default_factory=set)  # ids created with a callback_url
    started_at: float = 0.0  # the phones' clock when the run began
    plan: tuple[float, float] | None = None  # an every-minute plan's making and deletion, on the phones' clock
    api_down: list[tuple[float, float]] = field(default_factory=list)  # the launcher's down windows
    wall_offset: float = 0.0  # time.time() - the phones' clock: the records' local times on the phones' clock
    actions: dict[str, list[tuple[float, str]]] = field(default_factory=dict)  # serial -> (moment, engagement or post)
    prefect_states: dict[int, str] = field(default_factory=dict)  # task id -> its flow run's state type in Prefect


def _on_phone_clock(records: Records, local: str) -> float:
    return datetime.strptime(local, "%Y-%m-%d %H:%M:%S").timestamp() - records.wall_offset


def _ends(records: Records, spans: list[tuple[int, float, float | None]]) -> list[tuple[int, float, float | None]]:
    """A run whose process was killed never logs its end: the farm's recorded end stands for it (to the
    second, rounded down: a next start before it is before the end for sure) when it is the task's
    last attempt. An attempt cut off the same way with a later one on record (on the phone, or only in
    the records: a retry stopped before it started) has no recorded end: it is not judged."""
    last_start = {task_id: start for task_id, start, _ in spans}
    starts = Counter(task_id for task_id, _, _ in spans)
    judged = []
    for task_id, start, end in spans:
        if end is None:
            task = records.tasks.get(task_id)
            if start != last_start[task_id] or task is None or starts[task_id] < 1 + task["retry_count"]:
                end = start  # a later attempt is on record (its end is the one recorded), or none at all
            elif task["status"] in FINAL and task["end_time"]:
                end = _on_phone_clock(records, task["end_time"])
        judged.append((task_id, start, end))
    return judged


def _held(task: dict) -> bool:
    """Pending by the farm's own documented rules: an action budget spent, a marked account, a phone's
    health guard (their remarks say so: "waiting: ... frees at ...", "account ... is marked ...",
    "waiting: phone ...")."""
    remark = task["remark"]
    return task["status"] == 0 and (remark.startswith("waiting: ") or (remark.startswith("account ") and " is marked " in remark))


def one_run_a_phone(records: Records) -> list[Violation]:
    """1: never two runs driving one phone at once (its markers), never two tasks shown running on it."""
    found = []
    for serial, spans in records.intervals.items():
        ordered = _ends(records, sorted(spans, key=lambda span: span[1]))
        for (first, _, first_end), (second, second_start, _) in zip(ordered, ordered[1:]):
            if first_end is None or second_start < first_end:
                found.append(Violation("one run a phone", second_start - records.started_at,
                                       f"{serial}: task {second} started while task {first} was still on the phone"))
    running = Counter(task["serial"] for task in records.tasks.values() if task["status"] == 1)
    found += [Violation("one run a phone", -1, f"{serial}: {count} tasks shown running at once")
              for serial, count in running.items() if count > 1]
    return found


def every_task_ends(records: Records) -> list[Violation]:
    """2: every task created is listed (unless deleted) and ends; nothing pending or running after
    settling but on a phone still offline, or held by a budget, a mark or a health guard."""
    found = [Violation("every task is listed", -1, f"task {task_id} was created, never deleted, and is not listed")
             for task_id in sorted(records.created - records.deleted - records.maybe_deleted - set(records.tasks))]
    for task_id, task in sorted(records.tasks.items()):
        if task["status"] not in FINAL and task["serial"] not in records.offline and not _held(task):
            found.append(Violation("every task ends", -1,
                                   f"task {task_id} on {task['serial']} still {task['status_text']} after settling: {task['remark']!r}"))
    return found


def no_attempt_twice(records: Records) -> list[Violation]:
    """3: a phone saw a task start at most once an attempt (1 + retry_count): a run driven twice,
    or an attempt re-run behind the records' back, starts it once more."""
    starts = Counter(task_id for spans in records.intervals.values() for task_id, _, _ in spans)
    found = []
    for task_id, seen in sorted(starts.items()):
        task = records.tasks.get(task_id)
        if task is not None and seen > 1 + task["retry_count"]:
            found.append(Violation("no attempt twice", -1,
                                   f"task {task_id} started {seen} times on {task['serial']}, attempts recorded {1 + task['retry_count']}"))
    return found


def no_action_twice(records: Records) -> list[Violation]:
    """3: no follow, like, comment or post done twice on a phone within one run of a task (between its
    start and end markers; a run with no end marker is not judged)."""
    found = []
    for serial, spans in records.intervals.items():
        actions = sorted(records.actions.get(serial, []))
        for task_id, start, end in spans:
            if end is None:
                continue
            seen: set[str] = set()
            for moment, what in actions:
                if start <= moment <= end:
                    if what in seen:
                        found.append(Violation("no action twice", moment - records.started_at,
                                               f"{serial}: task {task_id} did {what!r} twice in one run"))
                    seen.add(what)
    return found


def books_agree_with_prefect(records: Records) -> list[Violation]:
    """2: a task shown ended has an ended flow run in Prefect, and one shown pending or running has not."""
    found = []
    for task_id, state in sorted(records.prefect_states.items()):
        task = records.tasks.get(task_id)
        if task is not None and (task["status"] in FINAL) != (state in PREFECT_FINAL):
            found.append(Violation("every task ends", -1, f"task {task_id} is shown {task['status_text']} "
                                                         f"while its flow run is {state} in Prefect"))
    return found


def _signed(secret: str, call: dict) -> bool:
    headers = {key.lower(): value for key, value in call["headers"].items()}
    signed = f"{headers.get('x-phonefarm-timestamp', '')}.{headers.get('x-phonefarm-delivery', '')}.".encode() + call["body"].encode()
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-phonefarm-signature", ""), expected)


def callbacks_once(records: Records) -> list[Violation]:
    """4: each task end delivered exactly once (by delivery id), signed; the last end of every
    ended task with a callback_url delivered."""
    found = []
    ends: dict[tuple, set[str]] = defaultdict(set)
    for call in records.callbacks:
        if not _signed(records.callback_secret, call):
            found.append(Violation("callbacks signed", -1, f"a call with a bad signature: {call['body'][:120]}"))
            continue
        if call["answered"] != 200:
            continue
        task = json.loads(call["body"])
        delivery = {key.lower(): value for key, value in call["headers"].items()}["x-phonefarm-delivery"]
        ends[(task["id"], task["status"], task["retry_count"], task["end_time"])].add(delivery)
    for (task_id, status, retries, _), deliveries in sorted(ends.items()):
        if len(deliveries) > 1:
            found.append(Violation("callbacks once", -1, f"task {task_id}'s end ({status}, retry {retries}) delivered "
                                                        f"{len(deliveries)} times under different ids"))
    delivered = {(task_id, status, retries) for task_id, status, retries, _ in ends}
    for task_id in sorted(records.with_callback & set(records.tasks)):
        task = records.tasks[task_id]
        if task["status"] in FINAL and (task_id, task["status"], task["retry_count"]) not in delivered:
            found.append(Violation("callbacks delivered", -1, f"task {task_id} ended {task['status_text']} "
                                                             f"(retry {task['retry_count']}) and its end was never delivered"))
    return found


def plan_fires_each_minute(records: Records) -> list[Violation]:
    """5: an every-minute plan fired once a minute from its making to its deletion, never more;
    firings due while the API was down may collapse into one when it is back (never lost otherwise).
    Its tasks are the listed ones of a plan, and the deleted ones the workload never made."""
    if records.plan is None:
        return []
    made, deleted = records.plan
    due = [made + 60 * k for k in range(int((deleted - made) // 60) + 1)]
    # A firing due in the last seconds before the deletion may not have been made yet: not counted as lost.
    sure = [moment for moment in due if moment <= deleted - FIRING_SECONDS]
    while_down = sum(1 for moment in sure if any(start <= moment <= end + FIRING_SECONDS for start, end in records.api_down))
    listed = sum(1 for task in records.tasks.values() if task.get("plan_id"))
    fired = listed + len(records.deleted - records.created)
    maybe = len((records.maybe_deleted - records.created) - set(records.tasks))  # deletes of a firing's task unanswered
    if fired > len(due):
        return [Violation("plan firings", -1, f"{fired} firings for {len(due)} due: a firing fired twice")]
    if fired + maybe < len(sure) - while_down:
        return [Violation("plan firings", -1, f"{fired} firings for {len(sure)} due, {while_down} of them while the API was down: "
                                              "a firing was lost")]
    return []


CHECKS = (one_run_a_phone, every_task_ends, books_agree_with_prefect, no_attempt_twice, no_action_twice,
          callbacks_once, plan_fires_each_minute)


def verdict(records: Records) -> list[Violation]:
    return [violation for check in CHECKS for violation in check(records)]
