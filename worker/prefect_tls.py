"""Prefect's API clients in one process share a TLS context per CA file instead of building one each.

Prefect 3.9 builds a new `ssl.create_default_context(cafile=certifi)` for every PrefectClient and
SyncPrefectClient, every events client's server-version check and websocket: about 30 ms of CPU
each, and a flow run makes several (workspace, pull-step event, engine, suspension watch), so this
was the largest single cost of a forked run (py-spy: half of its CPU). A context is safe
to share between clients and threads; Prefect never changes one it verifies with.
"""

from __future__ import annotations

import functools
import ssl
import types

import certifi
import prefect._internal.version_checking as prefect_version_check  # internal: its module global `ssl`
import prefect._internal.websockets as prefect_websockets  # internal: its module global `ssl`
import prefect.client.orchestration as prefect_clients  # internal: its module global `ssl`
from prefect.settings import get_current_settings

_fresh_context = ssl.create_default_context


@functools.lru_cache(maxsize=4)
def verifying_context(cafile: str) -> ssl.SSLContext:
    return _fresh_context(cafile=cafile)


def _create_default_context(purpose=ssl.Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    if cafile and purpose is ssl.Purpose.SERVER_AUTH and capath is None and cadata is None:
        return verifying_context(str(cafile))
    return _fresh_context(purpose, cafile=cafile, capath=capath, cadata=cadata)  # the insecure path changes it


# What Prefect's client modules see as `ssl`: the standard module, but for create_default_context.
SHARED_SSL = types.ModuleType("ssl", "ssl, with verifying contexts shared (worker.prefect_tls)")
SHARED_SSL.__dict__.update({k: v for k, v in vars(ssl).items() if not k.startswith("__")})
SHARED_SSL.create_default_context = _create_default_context


PREFECT_MODULES = (prefect_clients, prefect_version_check, prefect_websockets)


def share_tls_contexts() -> None:
    """From now on Prefect clients in this process share their context; the default one is built
    now, so that processes forked from this one inherit it."""
    for module in PREFECT_MODULES:
        module.ssl = SHARED_SSL
    verifying_context(get_current_settings().api.ssl_cert_file or certifi.where())  # as Prefect picks it
