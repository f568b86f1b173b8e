"""The local index in SQLite: integer task ids <-> Prefect flow runs, known phones, accounts, plans, callbacks."""

from __future__ import annotations

from pathlib import Path

from api.gateways.index_accounts import SCHEMA, Account, AccountTable, AnswerTable, PhoneTable  # noqa: F401
from api.gateways.index_budgets import BudgetTable
from api.gateways.index_callbacks import CALLBACKS_SCHEMA, CallbackOutbox, Delivery, EndedTask  # noqa: F401
from api.gateways.index_db import IndexDb
from api.gateways.index_farm import FarmReads
from api.gateways.index_plans import PLANS_SCHEMA, PlanRecord, PlanTable  # noqa: F401
from api.gateways.index_rows import (  # noqa: F401  (re-exported: the index's row types)
    TASKS_SCHEMA, NewTask, RunState, TaskFilter, TaskRow, add_columns, now_iso,
)
from api.gateways.index_tasks import TaskTable


class Index:
    """The index's parts over one database, built together for wiring: each service is given only
    the parts it uses."""

    def __init__(self, path: Path):
        self.store = IndexDb(path, TASKS_SCHEMA + SCHEMA + CALLBACKS_SCHEMA + PLANS_SCHEMA, upgrade=add_columns)
        self.path = self.store.path
        self.tasks = TaskTable(self.store)
        self.outbox = CallbackOutbox(self.store)
        self.plans = PlanTable(self.store)
        self.farm = FarmReads(self.store)
        self.phones = PhoneTable(self.store)
        self.accounts = AccountTable(self.store)
        self.answers = AnswerTable(self.store)
        self.budgets = BudgetTable(self.store)

    def identity(self) -> str:
        return self.store.identity()
