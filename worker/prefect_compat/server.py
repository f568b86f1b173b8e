"""The Prefect server's patches (installed by `python -m worker.prefect_compat server start`): a full disk under
PostgreSQL is an error its clients do not retry; a flow run's labels are written under SQLite's write lock; the
background worker polls its in-memory queue every second."""

from __future__ import annotations

from datetime import timedelta

from worker.prefect_compat.points import original

LABELS = "prefect.server.models.flow_runs.update_flow_run_labels"
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
