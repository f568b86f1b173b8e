"""How the suite's tests are handed to pytest-xdist's workers: the long ones first, whole modules kept whole.

A test goes to whichever worker is free, except the modules whose tests share processes of their
own: each of those runs whole, in order, on one worker. The device tests, which need no service,
go first, while the services start; then the longest modules. test_destructive.py always goes to
the first worker (gw0), which launches its service at the start of the session instead of when it
gets there (30 s of waiting otherwise). test_pcs.py and test_migration.py start their services when they get
there: at the session's start four Prefect servers would boot at once on two cores.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

TESTS = Path(__file__).parent
# Modules by their path under tests/ (tests/unit/ has modules of its own: "unit/test_x.py").
WHOLE_MODULES = {"test_destructive.py", "test_fast_worker.py", "test_pcs.py", "test_migration.py"}
# Modules pinned to a worker (by its index, or the last worker if there are fewer).
PINNED = {"test_destructive.py": 0}
# Then the modules with tests of 10 s or more, the longest first, so no lane ends on one of them
# while the others have ended; the short tests fill in after.
HANDED_OUT_FIRST = ["devices", "test_destructive.py", "test_chaos.py", "test_pcs.py", "test_migration.py", "test_load.py",
                    "test_phone_health.py", "test_phone_faults.py", "test_action_budgets.py", "test_task_lifecycle.py",
                    "test_plans.py", "test_stop_retry_delete.py", "test_queue_timeouts.py", "test_farm_page.py",
                    "test_account_marks.py", "test_task_logs.py", "test_callbacks.py"]


def _worker_of(module: str, workers: int) -> str:
    return f"gw{min(PINNED[module], max(workers, 1) - 1)}"


def runs_pinned_module(config: pytest.Config, module: str) -> bool:
    """Whether this process runs that pinned module, if collected (pytest without workers runs all)."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput is None or workerinput["workerid"] == _worker_of(module, workerinput["workercount"])


def _hand_out_order(item: pytest.Item) -> int:
    module = item.path.relative_to(TESTS) if item.path.is_relative_to(TESTS) else Path(item.path.name)
    for rank, name in enumerate(HANDED_OUT_FIRST):
        if name in (module.as_posix(), module.parts[0]):
            return rank
    return len(HANDED_OUT_FIRST)


def order(items: list[pytest.Item]) -> None:
    items.sort(key=_hand_out_order)  # stable: each module keeps its own order


def _module(scope: str) -> str:
    return scope.split("::", 1)[0].removeprefix("tests/")


class FarmScheduling(LoadScopeScheduling):
    # xdist's own loadgroup cannot be used: with pytest 9.2 its group marks do not reach the scheduler.
    def _split_scope(self, nodeid: str) -> str:
        return nodeid.split("::", 1)[0] if _module(nodeid) in WHOLE_MODULES else nodeid

    def _takeable(self, node) -> list[str]:
        workers = len(self.nodes)
        return [scope for scope in self.workqueue
                if _module(scope) not in PINNED or _worker_of(_module(scope), workers) == node.gateway.id]

    def _assign_work_unit(self, node) -> None:
        takeable = self._takeable(node)
        if not takeable:  # only other workers' pinned modules are left: _reschedule shuts it down
            return
        self.workqueue.move_to_end(takeable[0], last=False)
        super()._assign_work_unit(node)

    def _reschedule(self, node) -> None:
        if not node.shutting_down and self.workqueue and not self._takeable(node):
            if self._pending_of(self.assigned_work[node]) == 0:
                node.shutdown()  # only other workers' pinned modules are left
            return
        super()._reschedule(node)


def make_scheduler(config: pytest.Config, log) -> FarmScheduling:
    config.option.loadscopereorder = False  # keep the order above
    return FarmScheduling(config, log)
