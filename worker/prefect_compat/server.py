"""The Prefect server's patch (installed by `python -m worker.prefect_compat server start`): a full disk
under PostgreSQL is an error its clients do not retry."""

from __future__ import annotations

from worker.prefect_compat.points import original


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

