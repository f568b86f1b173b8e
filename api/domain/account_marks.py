"""Account marks: an account whose task met a blocking screen gets no task until cleared or its pause ends."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from api.domain.errors import not_found
from api.gateways.index import Account, AccountTable, RunState, TaskRow
from contract.names import ACCOUNT_MARK_STATE_NAMES

log = logging.getLogger(__name__)
MARK_OF_STATE = {name: mark for mark, name in ACCOUNT_MARK_STATE_NAMES.items()}
MARKS = tuple(ACCOUNT_MARK_STATE_NAMES)


def mark_of(state: RunState) -> Optional[str]:
    return MARK_OF_STATE.get(state.state_name or "") if state.state_type == "FAILED" else None


def held_remark(account: Account) -> str:
    """What a task held back by the account's mark says, next to its pending status."""
    if account.mark == "rate_limited" and account.mark_until is not None:
        until = account.mark_until.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        return (f"account {account.username} is marked rate_limited until {until}: {account.mark_remark}; "
                f"its tasks run then, or clear it with DELETE /api/v1/account/{account.username}/mark")
    return (f"account {account.username} is marked {account.mark}: {account.mark_remark}; "
            f"clear it with DELETE /api/v1/account/{account.username}/mark")


class AccountMarks:
    def __init__(self, table: AccountTable, *, rate_limit_pause: timedelta):
        self.table = table
        self.rate_limit_pause = rate_limit_pause

    def take_ends(self, ended: Iterable[tuple[TaskRow, RunState]]) -> None:
        """Runs the index's copy has just seen end: those that ended under a mark's state name mark
        their task's account. Told once per end (the mirror compares with the state it kept), so a
        mark an operator cleared does not come back from an old run."""
        for row, state in ended:
            mark = mark_of(state)
            if mark is not None:
                # Now, not the state's time: a rate limit's pause counts from when the farm learns of it.
                self.mark(row, mark, state.message or mark, datetime.now(timezone.utc))

    def mark(self, row: TaskRow, mark: str, remark: str, at: datetime) -> list[Account]:
        until = at + self.rate_limit_pause if mark == "rate_limited" else None
        if row.username:
            account = self.table.account(row.username)
            accounts = [account] if account else []
        else:
            # The index knows which accounts live on the phone, not which one is active: all of
            # the platform's are held rather than feeding a banned account more tasks.
            accounts = self.table.on_phone(row.serial, row.platform)
        if not accounts:
            log.warning("task %s ended %s, but its account (%s on %s) is not in the index: nothing marked",
                        row.id, mark, row.username or "the active account", row.serial)
        marked = []
        for account in accounts:
            self.table.set_mark(account.username, mark, remark, row.id, at, until)
            marked.append(self.table.account(account.username))
            log.warning("account %s marked %s by task %s: %s", account.username, mark, row.id, remark)
        self.note_held()
        return marked

    def note_held(self) -> None:
        """Write the reason on the tasks the marks hold back (the run creator skips them)."""
        for account in self.marked():
            self.table.note_held(account, held_remark(account))

    def marked(self, now: Optional[datetime] = None) -> list[Account]:
        now = now or datetime.now(timezone.utc)
        return [account for account in self.table.accounts() if account.marked(now)]

    def clear(self, username: str) -> Account:
        account = self.table.account(username)
        if account is None:
            raise not_found(f"Account {username} not found")
        if not account.marked(datetime.now(timezone.utc)):
            raise not_found(f"Account {username} has no mark")
        self.table.set_mark(account.username, None)
        self.table.note_held(account, None)
        log.info("account %s: mark %s cleared", account.username, account.mark)
        return self.table.account(account.username)

    def counts(self) -> dict[str, int]:
        counted = dict.fromkeys(MARKS, 0)
        for account in self.marked():
            counted[account.mark] = counted.get(account.mark, 0) + 1
        return counted
