"""An `ssl` for Prefect's client modules whose verifying contexts are built once per CA file and shared."""

from __future__ import annotations

import functools
import ssl
import types

import certifi
from prefect.settings import get_current_settings

_fresh_context = ssl.create_default_context


@functools.lru_cache(maxsize=4)
def verifying_context(cafile: str) -> ssl.SSLContext:
    # A context is safe to share between clients and threads; Prefect never changes one it verifies with.
    return _fresh_context(cafile=cafile)


def _create_default_context(purpose=ssl.Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    if cafile and purpose is ssl.Purpose.SERVER_AUTH and capath is None and cadata is None:
        return verifying_context(str(cafile))
    return _fresh_context(purpose, cafile=cafile, capath=capath, cadata=cadata)  # the insecure path changes it


# What Prefect's client modules see as `ssl` once installed: the standard module, but for create_default_context.
SHARED_SSL = types.ModuleType("ssl", "ssl, with verifying contexts shared (worker.prefect_compat)")
SHARED_SSL.__dict__.update({k: v for k, v in vars(ssl).items() if not k.startswith("__")})
SHARED_SSL.create_default_context = _create_default_context


def build_default_context() -> None:
    """The context Prefect's clients will ask for, built now, so that processes forked from this one inherit it."""
    verifying_context(get_current_settings().api.ssl_cert_file or certifi.where())  # as Prefect picks it
