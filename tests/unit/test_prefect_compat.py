"""worker.prefect_compat against the installed Prefect, with imports and inspect only: no server, no process."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import os
import re
import ssl
import uuid
from pathlib import Path

import pytest

from worker import prefect_compat
from worker.prefect_compat import REGISTRY, TouchPoint, points

REPO = Path(__file__).resolve().parents[2]
WORKER = REPO / "worker"
# The worker's modules; prefect_compat/ is the registry itself.
SOURCES = sorted(WORKER.glob("*.py"))
# Public Prefect modules whose module globals are nonetheless internals.
INTERNAL_MODULES = ("prefect.events.related", "prefect.flow_engine")
PROTOCOL_DUNDERS = {"__aenter__", "__aexit__", "__enter__", "__exit__", "__call__", "__getattr__", "__iter__"}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.fixture
def restored(monkeypatch):
    """Whatever a test installs is undone after it: other tests of the process see Prefect as it was."""
    for point in REGISTRY:
        if point.group:
            parent = point.parent()
            monkeypatch.setattr(parent, point.name, getattr(parent, point.name))
    monkeypatch.setattr(prefect_compat, "_installed", set(prefect_compat._installed))
    originals = dict(points.ORIGINALS)
    yield
    points.ORIGINALS.clear()
    points.ORIGINALS.update(originals)


# --- the version guard ---------------------------------------------------------------------------


def test_prefect_is_the_version_the_registry_was_checked_against():
    import prefect

    assert prefect.__version__ == prefect_compat.PREFECT_VERSION == "3.9.1", "re-check every canary before moving it"


def test_install_and_the_worker_refuse_another_prefect_version(monkeypatch, restored):
    import prefect

    from worker.fast_worker import FastProcessWorker

    monkeypatch.setattr(prefect, "__version__", "3.9.2")
    monkeypatch.setattr(prefect_compat, "_installed", set())
    for refused in (prefect_compat.install, prefect_compat.share_tls_contexts,
                    lambda: FastProcessWorker(work_pool_name="unused")):
        with pytest.raises(RuntimeError, match=r"relies on Prefect 3\.9\.1 internals but Prefect is 3\.9\.2"):
            refused()
    assert prefect_compat.installed() == frozenset()


def test_the_version_guard_is_the_only_one_in_the_tree():
    skipped = {".venv", ".git", "tests", "node_modules"}
    guards = [path for path in REPO.rglob("*.py") if not skipped.intersection(path.relative_to(REPO).parts)
              and re.search(r"__version__\s*[!=]=", path.read_text(errors="replace"))]
    assert guards == [WORKER / "prefect_compat" / "__init__.py"]


# --- the canaries --------------------------------------------------------------------------------


@pytest.mark.parametrize("point", REGISTRY, ids=[point.target for point in REGISTRY])
def test_each_touch_point_matches_its_canary(point: TouchPoint):
    assert point.problems() == []


def test_the_registry_is_well_formed():
    targets = [point.target for point in REGISTRY]
    assert len(targets) == len(set(targets)), "one entry per target"
    hows = {"replaced", "overridden", "subclassed", "implemented", "wrapped", "called", "read", "written", "imported"}
    for point in REGISTRY:
        assert point.how in hows and point.reason, point.target
        assert (point.how == "replaced") == bool(point.group) == (point.replacement is not None), point.target
        assert point.group in ("", *prefect_compat.GROUPS), point.target
        # The module it names touches it (by its last name), so no entry outlives its use; a replaced
        # one is touched by install() and its `where` holds the replacement.
        where = WORKER / (point.where.replace(".", "/") + ".py")
        assert where.exists(), point.target
        assert point.how == "replaced" or re.search(rf"\b{re.escape(point.name)}\b", where.read_text()), (point.target, where)


def test_a_canary_tells_what_changed():
    gone = TouchPoint("prefect.flow_engine._no_such_thing", "called", "forked_run", "a test")
    assert "gone" in gone.problems()[0]
    moved = TouchPoint("prefect.flow_engine._main", "called", "forked_run", "a test", params=("args",),
                       source=(("prefect.flow_engine._main", "PREFECT__FLOW_RUN_ID", "no such line"),))
    assert [problem.split(":")[1].strip().split()[0] for problem in moved.problems()] == ["parameters", "prefect.flow_engine._main"]
    # Snippets hold in the order given.
    reordered = TouchPoint("prefect.workers.base.BaseWorker._propose_submitting_state", "overridden", "fast_worker", "a test",
                           source=(("prefect.workers.base.BaseWorker._submit_run_and_capture_errors",
                                    "await self.run(", "await self._propose_submitting_state(flow_run)"),))
    assert len(reordered.problems()) == 1


# --- install() -----------------------------------------------------------------------------------


def test_install_replaces_its_groups_once_and_canaries_still_read_prefects_code(restored):
    import prefect.flow_engine

    replaced = [point for point in REGISTRY if point.group]
    assert {point.group for point in replaced} == set(prefect_compat.GROUPS)
    prefect_compat.install("tls")
    assert prefect_compat.installed() >= {"tls"}
    for point in replaced:
        assert (getattr(point.parent(), point.name) is point.replacement) == (point.group in prefect_compat.installed())
    prefect_compat.install()
    assert prefect_compat.installed() == set(prefect_compat.WORKER_GROUPS)
    prefect_compat.install(*prefect_compat.GROUPS)
    prefect_compat.install()
    assert prefect_compat.installed() == set(prefect_compat.GROUPS)
    for point in replaced:
        assert getattr(point.parent(), point.name) is point.replacement
        assert point.original() is not point.replacement, "a second install() keeps what Prefect had"
        assert point.problems() == []
    assert prefect.flow_engine._send_heartbeats.__module__ == "worker.prefect_compat.engine"
    with pytest.raises(ValueError, match="no such group"):
        prefect_compat.install("everything")


def test_importing_the_worker_patches_nothing(restored):
    """Only worker.forkserver, a forkserver's start, installs on import."""
    before = {point.target: getattr(point.parent(), point.name) for point in REGISTRY if point.group}
    for module in ("worker.fast_worker", "worker.forked_run", "worker.fork_starter", "worker.executors",
                   "worker.run_objects", "worker.cached_reads"):
        importlib.import_module(module)
    assert {target: getattr(point.parent(), point.name) for point in REGISTRY if point.group
            for target in [point.target]} == before


def test_prefect_clients_share_one_tls_context_once_told_to(restored):
    import certifi
    from prefect.client.orchestration import PrefectClient, SyncPrefectClient

    from worker.prefect_compat import tls

    prefect_compat.share_tls_contexts()
    before = tls.verifying_context.cache_info()
    PrefectClient("http://127.0.0.1:9/api")
    SyncPrefectClient("http://127.0.0.1:9/api")
    after = tls.verifying_context.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (2, 0)  # built by install
    assert tls.verifying_context(certifi.where()).verify_mode == ssl.CERT_REQUIRED
    # Only the verifying contexts are shared: the insecure path changes the one it is given.
    assert tls.SHARED_SSL.create_default_context() is not tls.SHARED_SSL.create_default_context()


# --- every internal name the worker touches is registered ------------------------------------------


def dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def prefect_references(tree: ast.AST):
    """Every dotted Prefect name a module imports, reaches through an imported name, or spells in a string."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "prefect":
                    bound[alias.asname or "prefect"] = alias.name if alias.asname else "prefect"
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "prefect":
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                yield f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (chain := dotted(node)):
            head, _, rest = chain.partition(".")
            if head in bound:
                yield f"{bound[head]}.{rest}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"prefect(\.\w+)+", node.value):
            yield node.value


def test_every_prefect_internal_the_worker_imports_or_reaches_is_registered():
    targets = {point.target for point in REGISTRY}
    unregistered = set()
    for path in SOURCES:
        for reference in prefect_references(ast.parse(path.read_text())):
            internal = any(is_private(part) for part in reference.split(".")) or reference.startswith(
                tuple(f"{module}." for module in INTERNAL_MODULES))
            if internal and reference not in targets:
                unregistered.add(f"{path.name}: {reference}")
    assert not unregistered, "add these to worker.prefect_compat.REGISTRY, with a canary"


def test_every_private_attribute_the_worker_uses_but_does_not_define_is_registered():
    """`obj._name` where the worker never defines `_name`: Prefect's (or Python's) private, e.g.
    `configuration._command_configured`, `threading._shutdown`."""
    defined, used = set(), {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute) and is_private(node.attr):
                if isinstance(node.ctx, ast.Store) and dotted(node.value) == "self":
                    defined.add(node.attr)  # a Prefect base's own names are the next test's
                used.setdefault(node.attr, path.name)
    names = {point.name for point in REGISTRY}
    assert {f"{where}: {name}" for name, where in used.items() if name not in defined | names} == set()


@functools.cache
def source_of(cls: type) -> str:
    return inspect.getsource(cls)  # a class's source is found by parsing its module: once each


def test_every_prefect_name_a_worker_subclass_overrides_or_uses_is_registered():
    """A worker class that subclasses a Prefect class: the private names both use are Prefect's."""
    targets = {point.target for point in REGISTRY}
    checked, unregistered = 0, set()
    for path in SOURCES:
        module = importlib.import_module(f"worker.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text())):
            cls = getattr(module, node.name, None) if isinstance(node, ast.ClassDef) else None
            bases = [base for base in getattr(cls, "__mro__", ())[1:] if base.__module__.startswith("prefect.")]
            if not bases:
                continue
            checked += 1
            mine = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and dotted(n.value) in ("self", "cls")}
            mine |= {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            mine = {name for name in mine if name.startswith("_") and name not in {*dir(object), *PROTOCOL_DUNDERS}}
            for name in mine:
                owners = [f"{base.__module__}.{base.__qualname__}.{name}" for base in bases
                          if name in vars(base) or re.search(rf"self\.{name}\b", source_of(base))]
                if owners and not targets.intersection(owners):
                    unregistered.add(f"{cls.__qualname__}.{name}: {owners}")
    assert checked >= 2, "FastProcessWorker and ExecutorContext at least"
    assert not unregistered, "add these to worker.prefect_compat.REGISTRY, with a canary"


# --- what the worker builds on those internals, checked without a server --------------------------


def test_the_fork_handle_and_its_termination_scope_meet_prefects_protocol():
    from prefect.runner._process_manager import ProcessHandle, ProcessTerminationScope

    from worker.fork_starter import Forked, SessionScope

    protocol = {name for name in [*vars(ProcessTerminationScope), *ProcessTerminationScope.__annotations__]
                if not name.startswith("_")}
    assert protocol == {"wait_after_graceful_kill", "is_alive", "graceful_kill", "hard_kill", "close"}
    assert all(hasattr(SessionScope, name) for name in protocol)
    forked = Forked(os.getpid())
    handle = ProcessHandle(forked, termination_scope=SessionScope())
    assert (handle.pid, handle.returncode, handle.is_alive()) == (os.getpid(), None, True)
    forked.returncode = -9
    assert handle.returncode == -9


def test_a_prepared_workspace_puts_its_root_first_on_the_runs_path():
    from prefect.runner._workspace_resolver import PreparedWorkspace
    from prefect.runner._workspace_starter import workspace_environment

    workspace = PreparedWorkspace(workspace_root=REPO, working_directory=REPO, runtime_entrypoint="flows/x.py:f",
                                  environment={}, sys_path=[])
    assert workspace_environment(workspace)["PYTHONPATH"].split(os.pathsep)[0] == str(REPO)


def test_a_run_process_finds_what_the_worker_read_of_its_run_in_the_event_emitters_cache():
    """The first event of a task run names the run's flow, deployment, work queue and pool: in a
    forked run they come from what the worker handed over (worker.run_objects), not from the server."""
    import asyncio
    from datetime import datetime, timezone

    from prefect.client.schemas.objects import Flow, FlowRun
    from prefect.client.schemas.responses import DeploymentResponse
    from prefect.client.schemas.worker_channel import WorkPoolSnapshot
    from prefect.events import related

    from worker.run_objects import RunObjects, remember_related

    flow = Flow(name="run-task")
    deployment = DeploymentResponse(name="task", flow_id=flow.id, created=datetime.now(timezone.utc))
    pool = WorkPoolSnapshot(name="phone-farm", type="process", id=uuid.uuid4(), base_job_template={}, is_paused=False,
                            storage_configuration={}, default_queue_id=uuid.uuid4())
    run = FlowRun(flow_id=flow.id, deployment_id=deployment.id, work_queue_id=uuid.uuid4(), work_queue_name="device-1")
    remember_related(RunObjects(run, deployment, flow, pool))

    async def never(key):
        raise AssertionError(f"read {key} from the server")

    async def found(kind, key):
        entry = await related._get_and_cache_related_object(kind, kind, never, key, related.RESOURCE_CACHE)
        return entry["object"]

    # Keyed as the engine asks, with the run it read (which names its pool).
    assert asyncio.run(found("flow", run.flow_id)) is flow
    assert asyncio.run(found("deployment", run.deployment_id)) is deployment
    assert asyncio.run(found("work-pool", "phone-farm")) is pool
    queue = asyncio.run(found("work-queue", run.work_queue_id))
    assert (queue.id, queue.name, queue.work_pool_id) == (run.work_queue_id, "device-1", pool.id)


def test_the_worker_registers_as_fast_process_and_leaves_process_to_the_stock_worker():
    from prefect.utilities.dispatch import lookup_type
    from prefect.workers.base import BaseWorker
    from prefect.workers.process import ProcessWorker

    from worker.fast_worker import FastProcessWorker

    assert lookup_type(BaseWorker, "fast-process") is FastProcessWorker
    assert lookup_type(BaseWorker, "process") is ProcessWorker
    assert FastProcessWorker.type == "process"  # it serves process pools without a type mismatch


def test_an_executor_context_whose_cancellation_observer_gave_up_is_replaced_for_later_runs(monkeypatch):
    import asyncio
    import logging

    from worker import executors

    given_up = executors.ExecutorContext()
    given_up._logger = logging.getLogger("test")  # set by __aenter__
    given_up._handle_cancellation_observer_failure({uuid.uuid4()})  # what the observer calls
    assert given_up.observer_failed

    events: list[tuple[str, int]] = []

    class Context:  # stands in for Prefect's: entered and exited in the same task, or anyio fails
        observer_failed = False

        async def __aenter__(self):
            self.task = asyncio.current_task()
            events.append(("entered", id(self)))
            return self

        async def __aexit__(self, *exc_info):
            assert asyncio.current_task() is self.task
            events.append(("exited", id(self)))

    monkeypatch.setattr(executors, "ExecutorContext", Context)

    async def scenario():
        contexts = executors.Executors()
        first = await contexts.current()
        assert await contexts.current() is first
        first.observer_failed = True
        second = await contexts.current()
        assert second is not first
        assert ("exited", id(first)) not in events  # its runs still need it
        await contexts.close()
        assert events == [("entered", id(first)), ("entered", id(second)),
                          ("exited", id(first)), ("exited", id(second))]

    asyncio.run(scenario())


def test_a_preloaded_flow_file_is_named_as_its_module_which_prefect_imports_as_it_is():
    """Prefect 3.9's import_object takes "module:object" from sys.modules: the run reuses the fork's copy."""
    from prefect.utilities.importtools import import_object

    from flows import run_task
    from worker import forked_run

    assert forked_run.preloaded_entrypoint("flows/run_task.py:run_task") == "flows.run_task:run_task"
    assert forked_run.preloaded_entrypoint("elsewhere/not_loaded.py:f") == "elsewhere/not_loaded.py:f"
    assert forked_run.preloaded_entrypoint("/abs/flows/run_task.py:run_task") == "/abs/flows/run_task.py:run_task"
    assert import_object("flows.run_task:run_task") is run_task.run_task


def test_the_preload_probe_fails_where_nothing_was_preloaded_nor_installed(monkeypatch):
    from worker import forked_run

    monkeypatch.setattr(prefect_compat, "_installed", {"tls"})
    with pytest.raises(SystemExit, match="no.such.module was not preloaded.*imported in the fork, not the forkserver"
                                         r".*the Prefect patches were not installed \(only \['tls'\]\)"):
        forked_run.probe(["no.such.module"])


def test_the_server_does_not_have_a_full_disk_retried_but_a_lost_connection_still_is():
    import asyncpg.exceptions
    import sqlalchemy.exc

    from worker.prefect_compat.server import is_client_retryable_exception

    def from_the_driver(error: Exception) -> sqlalchemy.exc.DBAPIError:
        try:  # as SQLAlchemy's asyncpg adapter raises it: its own error, caused by asyncpg's
            raise RuntimeError("adapted") from error
        except RuntimeError as adapted:
            return sqlalchemy.exc.DBAPIError("INSERT INTO events ...", {}, adapted)

    assert not is_client_retryable_exception(from_the_driver(asyncpg.exceptions.DiskFullError("could not extend file")))
    assert is_client_retryable_exception(from_the_driver(asyncpg.exceptions.ConnectionDoesNotExistError("closed")))
    assert is_client_retryable_exception(from_the_driver(asyncpg.exceptions.CannotConnectNowError("starting up")))
