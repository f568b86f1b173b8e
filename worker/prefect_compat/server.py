"""The Prefect server's patches (installed by `python -m worker.prefect_compat server start`): a full disk under
PostgreSQL is an error its clients do not retry; a flow run's labels, a deployment's new runs and deletions of runs are
written under SQLite's write lock; the background worker polls its in-memory queue every second."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import timedelta

from worker.prefect_compat.points import original

LABELS = "prefect.server.models.flow_runs.update_flow_run_labels"
CREATE_APP = "prefect.server.api.server.create_app"
BEGIN = "prefect.server.database.configurations.AioSqliteConfiguration.begin_transaction"
# The requests whose one transaction reads before it writes: a deployment's new runs (one or in bulk), deletions of runs.
READ_THEN_WRITE = (("POST", re.compile(r"/deployments/[^/]+/create_flow_run(/bulk)?$")),
                   ("POST", re.compile(r"/flow_runs/bulk_delete$")),
                   ("DELETE", re.compile(r"/flow_runs/[0-9a-fA-F-]{36}$")))
_WRITE_FIRST: ContextVar[bool] = ContextVar("phonefarm_write_first", default=False)
BACKGROUND_WORKER = "prefect.server.api.background_workers.Worker"
# The server's background tasks run on a schedule of 5 s and more (its services' loops) or follow a request whose
# answer does not wait for them: a second's delay is harmless, and the idle server wakes 4 times less for it.
BACKGROUND_POLL = timedelta(seconds=1)


def _causes(error: BaseException):
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = getattr(error, "orig", None) or error.__cause__


def is_client_retryable_exception(exc: Exception) -> bool:
    """Prefect's answer, but no for a full disk: SQLite's full disk is a 500 and a refused state, and
    PostgreSQL's (53100) is the same fault; retried as a 503, a run's end waited for over a minute."""
    import asyncpg.exceptions  # here: only the server's process asks, the worker's forks need not load it

    if any(isinstance(cause, asyncpg.exceptions.DiskFullError) for cause in _causes(exc)):
        return False
    return original("prefect.server.api.server.is_client_retryable_exception")(exc)


async def update_flow_run_labels(session, flow_run_id, labels) -> bool:
    """Prefect's read-then-write of a run's labels, in a transaction begun IMMEDIATE on SQLite, as Prefect begins
    its own writes `with_for_update`. Begun DEFERRED, its read took a snapshot, and a write committed by another
    request before its own write made SQLite refuse at once (SQLITE_BUSY_SNAPSHOT: the busy timeout does not
    apply) and the client retry: 134 of 200 concurrent label writes answered 503. PostgreSQL ignores the mode."""
    from prefect.server.database.configurations import SQLITE_BEGIN_MODE  # the server's process only

    # Read when the session's connection begins, at its first statement: the read of the run, just below.
    mode = SQLITE_BEGIN_MODE.set("IMMEDIATE")
    try:
        return await original(LABELS)(session=session, flow_run_id=flow_run_id, labels=labels)
    finally:
        SQLITE_BEGIN_MODE.reset(mode)


def background_worker(docket, **options):
    """docket's Worker as Prefect's server makes it, checking for due and new work every second instead of every
    250 ms: with the in-memory store each check runs a script, 0.9 % of a core on an idle server."""
    from docket import Worker  # the server's process only

    return Worker(docket, **{"minimum_check_interval": BACKGROUND_POLL, "scheduling_resolution": BACKGROUND_POLL,
                             **options})


class WriteLockFirst:
    """ASGI middleware: a request of READ_THEN_WRITE has its transaction begun IMMEDIATE on SQLite (begin_transaction
    below). Prefect begins those DEFERRED and reads first: a write committed by another request before their first
    write made SQLite refuse that write and every later one of the transaction (SQLITE_BUSY_SNAPSHOT, no busy wait):
    a bulk of 50 new runs refused whole, a deletion answered 503 and retried by the client with growing pauses."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not any(method == scope["method"] and path.search(scope["path"])
                                              for method, path in READ_THEN_WRITE):
            return await self.app(scope, receive, send)
        token = _WRITE_FIRST.set(True)
        try:
            return await self.app(scope, receive, send)
        finally:
            _WRITE_FIRST.reset(token)


def create_app(settings=None, ephemeral: bool = False, webserver_only: bool = False, final: bool = False,
               ignore_cache: bool = False):
    """Prefect's app with WriteLockFirst outermost (Prefect may hand out a cached app: added once)."""
    app = original(CREATE_APP)(settings=settings, ephemeral=ephemeral, webserver_only=webserver_only, final=final,
                               ignore_cache=ignore_cache)
    if not any(middleware.cls is WriteLockFirst for middleware in app.user_middleware):
        app.add_middleware(WriteLockFirst)
    return app


@asynccontextmanager
async def begin_transaction(self, session, with_for_update: bool = False):
    """Prefect's SQLite transaction, begun IMMEDIATE also inside a request WriteLockFirst marked."""
    async with original(BEGIN)(self, session, with_for_update=with_for_update or _WRITE_FIRST.get()) as transaction:
        yield transaction
