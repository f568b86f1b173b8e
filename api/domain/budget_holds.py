"""Action budgets: a task that would exceed its account's budget waits, pending: with no run yet, or its
Scheduled run (a start_time task's when due, a manual retry's) put off until the budget frees."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping, Optional

from api.domain.budgets import WINDOWS, Spent, Wait, first_wait, limits_for, needs, spent_by
from api.gateways.index import AccountTable, BudgetTable, TaskRow
from api.gateways.prefect import RunWrites

log = logging.getLogger(__name__)
NEVER = timedelta(days=3650)  # a zero budget: held until the account's budgets change (which lifts every hold)
HELD_RUN = "AwaitingBudget"  # the Scheduled state's name of a run its budget put off
# Workers fetch runs due within Prefect's prefetch window (10 s) and start each at its time: a run due
# sooner than this is weighed now, before a worker can take it.
AHEAD = timedelta(seconds=15)
# A worker takes a run at its time (or up to its prefetch, 1 s, before): a run due sooner than this may be
# on its way to a phone already, and a forced Scheduled state would run it a second time. It is left to run.
TAKEN_WITHIN = timedelta(seconds=3)


def due(row: TaskRow) -> Optional[datetime]:
    """When a Scheduled run is due, if it waits for a time: put off by its budget, or a start_time task."""
    return row.budget_until or row.start_at


def taken_soon(row: TaskRow, now: datetime) -> bool:
    """Whether a worker may be taking this Scheduled run now: Prefect has it due within TAKEN_WITHIN
    (or its time is unknown). It is not rewritten then."""
    scheduled = row.run.expected_start_time  # Prefect's time for the run's Scheduled state
    return scheduled is None or scheduled <= now + TAKEN_WITHIN


def spender(row: TaskRow) -> tuple[str, str]:
    """Whose budget a task spends: its account's, or its phone's active account's on that platform."""
    return row.platform, row.username or f"@{row.serial}"


def spent(row: TaskRow, now: datetime) -> list[Spent]:
    """What a task with a run has spent: a completed one what its script says it did (at its end); a
    run not ended yet what it may spend (now); a failed one what it set out to do, as nobody knows how
    far it got; a cancelled or deleted run that never started nothing."""
    state = row.run.state_type
    if state == "SCHEDULED" and (due(row) or now) > now + AHEAD:
        return []  # not due yet: weighed when it is
    if state == "COMPLETED":
        did = spent_by(row.script_name, row.run.message)
    elif state in ("CANCELLED", "CANCELLING") and row.run.start_time is None:
        did = {}
    else:
        did = needs(row.script_name, row.script_config)
    at = row.run.end_time or now
    return [Spent(at, action, count) for action, count in did.items()]


class ActionBudgets:
    def __init__(self, table: BudgetTable, accounts: AccountTable, defaults: Mapping[str, Mapping],
                 writes: Optional[RunWrites] = None, refresh: Callable[[list[str]], None] = lambda ids: None,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.table = table
        self.accounts = accounts
        self.defaults = defaults
        self.writes = writes
        self.refresh = refresh  # the index's copy of runs this rescheduled
        self.now = now

    def _history(self, now: datetime, skip: set[int] = frozenset()) -> dict[tuple[str, str], list[Spent]]:
        history: dict[tuple[str, str], list[Spent]] = defaultdict(list)
        for row in self.table.spenders(now - max(WINDOWS.values())):
            if row.id not in skip:
                history[spender(row)].extend(spent(row, now))
        return history

    def admit(self, rows: list[TaskRow]) -> list[TaskRow]:
        """The tasks whose runs may be created now; the others are held, each with why and until when.
        Runs made earlier count as spending until they end, so one batch cannot overshoot a budget."""
        now = self.now()
        wanting = [(row, needs(row.script_name, row.script_config)) for row in rows if not row.stop_requested]
        if not any(wanted for _, wanted in wanting):
            return rows
        history = self._history(now)
        held: set[int] = set()
        for row, wanted in wanting:
            if not wanted:
                continue
            if row.start_at is not None and row.start_at > now + AHEAD:
                # A start_time task is a Prefect scheduled run from the start (the design): its run is
                # made now, and weighed by sweep() when it is due.
                continue
            wait = first_wait(self._limits(row), history[spender(row)], wanted, now)
            if wait is None:
                history[spender(row)].extend(Spent(now, action, count) for action, count in wanted.items())
                continue
            self.table.hold(row.id, wait.remark(), wait.frees_at or now + NEVER)
            held.add(row.id)
            log.info("task %s %s", row.id, wait.remark())
        admitted = [row for row in rows if row.id not in held]
        self.table.release(row.id for row in admitted)
        return admitted

    def weigh_retries(self, rows: list[TaskRow]) -> dict[int, Wait]:
        """The budget each manual retry of these failed tasks would exceed now (their failed attempts
        count, and so do the retries let go before them), by task id; those let go are not in it."""
        now = self.now()
        history = None
        waits = {}
        for row in rows:
            wanted = needs(row.script_name, row.script_config)
            if not wanted:
                continue
            history = history or self._history(now)
            wait = first_wait(self._limits(row), history[spender(row)], wanted, now)
            if wait is None:
                history[spender(row)].extend(Spent(now, action, count) for action, count in wanted.items())
            else:
                waits[row.id] = wait
        return waits

    def put_off(self, row: TaskRow, wait: Wait) -> None:
        """Its Scheduled run waits until the budget frees, saying why (the same run: the Prefect UI shows it)."""
        until = wait.frees_at or self.now() + NEVER
        self.writes.reschedule(row.flow_run_id, until, name=HELD_RUN, message=wait.remark())
        self.table.put_off(row.id, until)
        log.info("task %s %s", row.id, wait.remark())

    def sweep(self) -> None:
        """Weigh the Scheduled runs about to be due that no batch weighed: start_time tasks, and runs put
        off earlier (or whose account's budgets changed). Over budget: put off; a put-off run that fits
        now is due at once. They are read from Prefect first: the index's copy can be behind (an API
        restart, a lost event), and a forced state on a run a worker has taken would run it twice."""
        rows = self.table.due_scheduled(self.now() + AHEAD, later_than=AHEAD)
        if not rows:
            return
        self.refresh([row.flow_run_id for row in rows])
        now = self.now()
        rows = self.table.due_scheduled(now + AHEAD, later_than=AHEAD)
        history = self._history(now, skip={row.id for row in rows})
        rescheduled = []
        for row in rows:
            wanted = needs(row.script_name, row.script_config)
            at = max(now, due(row) or now)
            wait = first_wait(self._limits(row), history[spender(row)], wanted, at) if wanted else None
            free = not taken_soon(row, now)
            if wait is not None and free:
                self.put_off(row, wait)
                rescheduled.append(row.flow_run_id)
                continue
            if wait is not None:
                log.warning("task %s was due before its budget could be weighed: it runs (%s)", row.id, wait.remark())
            history[spender(row)].extend(Spent(at, action, count) for action, count in wanted.items())
            if row.run.state_name == HELD_RUN and free:
                self.writes.reschedule(row.flow_run_id, now, name="Scheduled", message=None)
                rescheduled.append(row.flow_run_id)
            if row.budget_until:
                self.table.put_off(row.id, None)
        self.refresh(rescheduled)

    def _limits(self, row: TaskRow) -> dict:
        account = self.accounts.account(row.username) if row.username else None
        return limits_for(self.defaults, row.platform, dict(account.budgets) if account else {})


def overrides_of(budgets: Optional[Mapping]) -> dict[str, int]:
    """An account's own budgets as stored: nulls (back to the default) dropped."""
    return {key: value for key, value in (budgets or {}).items() if value is not None}
