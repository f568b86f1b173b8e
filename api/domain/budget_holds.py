"""Action budgets at run creation: a task that would exceed its account's budget gets no run (it waits, pending)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping, Optional

from api.domain.budgets import WINDOWS, Spent, first_wait, limits_for, needs, spent_by
from api.gateways.index import AccountTable, BudgetTable, TaskRow

log = logging.getLogger(__name__)
NEVER = timedelta(days=3650)  # a zero budget: held until the account's budgets change (which lifts every hold)


def spender(row: TaskRow) -> tuple[str, str]:
    """Whose budget a task spends: its account's, or its phone's active account's on that platform."""
    return row.platform, row.username or f"@{row.serial}"


def spent(row: TaskRow, now: datetime) -> list[Spent]:
    """What a task with a run has spent: a completed one what its script says it did (at its end); a
    run not ended yet what it may spend (now); a failed one what it set out to do, as nobody knows how
    far it got; a cancelled or deleted run that never started nothing."""
    state = row.run.state_type
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
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.table = table
        self.accounts = accounts
        self.defaults = defaults
        self.now = now

    def admit(self, rows: list[TaskRow]) -> list[TaskRow]:
        """The tasks whose runs may be created now; the others are held, each with why and until when.
        Runs made earlier count as spending until they end, so one batch cannot overshoot a budget."""
        now = self.now()
        wanting = [(row, needs(row.script_name, row.script_config)) for row in rows if not row.stop_requested]
        if not any(wanted for _, wanted in wanting):
            return rows
        history: dict[tuple[str, str], list[Spent]] = defaultdict(list)
        for row in self.table.spenders(now - max(WINDOWS.values())):
            history[spender(row)].extend(spent(row, now))
        held: set[int] = set()
        for row, wanted in wanting:
            if not wanted:
                continue
            if row.start_at is not None and row.start_at > now:
                # A start_time task is a Prefect scheduled run from the start (the design): its run is
                # made now and the budget does not weigh it (decision 0033).
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

    def _limits(self, row: TaskRow) -> dict:
        account = self.accounts.account(row.username) if row.username else None
        return limits_for(self.defaults, row.platform, dict(account.budgets) if account else {})


def overrides_of(budgets: Optional[Mapping]) -> dict[str, int]:
    """An account's own budgets as stored: nulls (back to the default) dropped."""
    return {key: value for key, value in (budgets or {}).items() if value is not None}
