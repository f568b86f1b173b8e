"""Every touch point of Prefect's internals (REGISTRY), one version guard, and one install() of the patches."""

from __future__ import annotations

import prefect

from worker.prefect_compat.points import ORIGINALS, TouchPoint
from worker.prefect_compat.registry import REGISTRY
from worker.prefect_compat.tls import build_default_context

# The version the registry's canaries were checked against (tests/unit/test_prefect_compat.py).
PREFECT_VERSION = "3.9.1"
GROUPS = ("tls", "engine", "server")  # tls: any process's Prefect clients; engine: a flow run's process;
# server: the Prefect server's process (worker.prefect_compat.server)
WORKER_GROUPS = ("tls", "engine")  # what install() applies when given no group: the worker's and its runs'

_installed: set[str] = set()

__all__ = ["GROUPS", "WORKER_GROUPS", "PREFECT_VERSION", "REGISTRY", "TouchPoint", "install", "installed", "require_version",
           "share_tls_contexts"]


def require_version() -> None:
    if prefect.__version__ != PREFECT_VERSION:
        raise RuntimeError(
            f"worker.prefect_compat relies on Prefect {PREFECT_VERSION} internals but Prefect is {prefect.__version__}: "
            "re-check the canaries of its REGISTRY (tests/unit/test_prefect_compat.py) and move PREFECT_VERSION, "
            "or run flows with `prefect worker start --type process`")


def install(*groups: str) -> None:
    """Apply the replacements of these groups (the worker's if none) in this process; once is enough, again is
    harmless. Called at the start of each process kind: the API's and the tests' (tls), the worker's and its
    forkserver's (WORKER_GROUPS), the Prefect server's (server)."""
    require_version()
    wanted = set(groups or WORKER_GROUPS)
    if unknown := wanted - set(GROUPS):
        raise ValueError(f"no such group of Prefect patches: {sorted(unknown)}")
    for point in REGISTRY:
        if point.group in wanted - _installed:
            parent = point.parent()
            ORIGINALS.setdefault(point.target, getattr(parent, point.name))
            setattr(parent, point.name, point.replacement)
    if "tls" in wanted:
        build_default_context()  # again after a fork is a cache hit
    _installed.update(wanted)


def share_tls_contexts() -> None:
    """The start of a process that runs no flow (the API and its launchers, the tests): its clients' part."""
    install("tls")


def installed() -> frozenset[str]:
    return frozenset(_installed)
