"""Secrets in a script_config travel as references to Prefect Secret blocks, never as values; a stored
key is bound to the one endpoint it was given for, and keys only ever go to allowed endpoints."""

from __future__ import annotations

import json
from typing import Iterable, Optional

REFERENCE_PREFIX = "prefect-secret:"
DEFAULT_CHAT_URL = "https://api.openai.com/v1"


class KeyRefused(ValueError):
    """The key may not be sent where this config would send it."""


def reference(block_name: str) -> str:
    return f"{REFERENCE_PREFIX}{block_name}"


def is_reference(value: object) -> bool:
    return isinstance(value, str) and value.startswith(REFERENCE_PREFIX)


def chat_url(chat_settings: dict) -> str:
    return str(chat_settings.get("base_url") or DEFAULT_CHAT_URL).rstrip("/")


def endpoint_allowed(url: str, allowlist: Iterable[str]) -> bool:
    return url.rstrip("/") in {allowed.rstrip("/") for allowed in allowlist}


def sealed(api_key: str, base_url: str) -> str:
    """What a Secret block stores: the key with the endpoint it may be sent to."""
    return json.dumps({"api_key": api_key, "base_url": base_url.rstrip("/")})


def reveal(value: Optional[str], base_url: str) -> str:
    """The key itself, read from its block only where it is used (inside the flow run), and only
    for the endpoint it was stored with: a reference copied into another config sends nothing."""
    if not is_reference(value):
        return value or ""  # a run started in the UI may carry a plain value
    from prefect.blocks.system import Secret

    stored = Secret.load(value[len(REFERENCE_PREFIX):], _sync=True).get()  # _sync: never a coroutine here
    bound = stored
    if isinstance(stored, str):  # Prefect's Secret block hands a JSON text back as a dict, or not
        try:
            bound = json.loads(stored)
        except ValueError:
            bound = {}
    if not isinstance(bound, dict) or bound.get("base_url") != base_url.rstrip("/"):
        raise KeyRefused(f"the stored key may only be sent to the endpoint it was stored with, not {base_url}")
    return str(bound["api_key"])
