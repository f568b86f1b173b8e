"""Secrets in a script_config travel as references to Prefect Secret blocks, never as values."""

from __future__ import annotations

from typing import Optional

REFERENCE_PREFIX = "prefect-secret:"


def reference(block_name: str) -> str:
    return f"{REFERENCE_PREFIX}{block_name}"


def is_reference(value: object) -> bool:
    return isinstance(value, str) and value.startswith(REFERENCE_PREFIX)


def reveal(value: Optional[str]) -> str:
    """The secret itself, read from its block only where it is used (inside the flow run)."""
    if not is_reference(value):
        return value or ""  # a run started in the UI may carry a plain value
    from prefect.blocks.system import Secret

    return Secret.load(value[len(REFERENCE_PREFIX):], _sync=True).get()  # _sync: never a coroutine here
