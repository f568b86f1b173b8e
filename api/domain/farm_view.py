"""The farm at a glance, for the phone wall page: every phone with its accounts, its task now and its last failure, and the marked accounts."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from api.domain.accounts import as_dict
from api.domain.phones import PhoneDirectory
from api.domain.tasks import TaskService
from api.domain.views import attempt_start, task_view
from api.gateways.index import AccountTable, FarmReads


class FarmView:
    def __init__(self, tasks: TaskService, phones: PhoneDirectory, reads: FarmReads, accounts: AccountTable, *,
                 prefect_ui_url: str):
        self.tasks, self.phones, self.reads, self.accounts = tasks, phones, reads, accounts
        self.prefect_ui_url = prefect_ui_url

    def overview(self) -> dict:
        listed = self.phones.listing()
        accounts: dict[str, list[str]] = {}
        for account in self.accounts.accounts():
            accounts.setdefault(account.serial, []).append(account.username)
        failures = self.reads.last_failures(phone["serial"] for phone in listed)
        now = datetime.now(timezone.utc)
        return {
            "pc": self.phones.pc_name,
            "prefect_ui_url": self.prefect_ui_url,
            "stats": self.tasks.counts(),
            "phones": [self._phone(phone, accounts, failures, now) for phone in listed],
            "marked_accounts": [as_dict(a) for a in self.accounts.accounts() if a.marked(now)],
            **self.tasks.copy_notice(),
        }

    def _phone(self, phone: dict, accounts: dict[str, list[str]], failures: dict, now: datetime) -> dict:
        serial = phone["serial"]
        row = self.tasks.table.get(phone["task_id"]) if phone["task_id"] else None
        failure = failures.get(serial)
        return {
            **phone,
            "accounts": sorted(accounts.get(serial, [])),
            # Screens are taken by this PC's API, of this PC's phones only.
            "screen": phone["pc"] == self.phones.pc_name and phone["state"] == "device",
            "task": self._current(row, now) if row else None,
            "last_failure": {**_brief(task_view(failure, self.prefect_ui_url)),
                             "artifacts": f"/api/v1/task/{failure.id}/artifacts"} if failure else None,
        }

    def _current(self, row, now: datetime) -> dict:
        started: Optional[datetime] = attempt_start(row.run) if row.run.state_type == "RUNNING" else None
        return {**_brief(task_view(row, self.prefect_ui_url)),
                "elapsed_seconds": round((now - started).total_seconds(), 1) if started else None}


def _brief(task: dict) -> dict:
    return {key: task[key] for key in ("id", "script_name", "username", "status", "status_text", "remark",
                                       "start_time", "end_time", "flow_run_url")}
