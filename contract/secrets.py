"""Secrets in a script_config travel as references to Prefect Secret blocks, never as values; a stored
key is bound to the one endpoint, model and token budget it was given for, and keys only ever go to
allowed endpoints."""

from __future__ import annotations

import json
from typing import Iterable, Optional

from contract.script_configs import DEFAULT_CHAT_MODEL, DEFAULT_MAX_TOKENS

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


def chat_use(chat_settings: dict) -> tuple[str, int]:
    """The model and max_tokens a warm-up sends with these settings."""
    return str(chat_settings.get("model") or DEFAULT_CHAT_MODEL), int(chat_settings.get("max_tokens") or DEFAULT_MAX_TOKENS)


def sealed(api_key: str, base_url: str, chat_settings: Optional[dict] = None) -> str:
    """What a Secret block stores: the key with the endpoint, model and token budget it may be used for."""
    model, max_tokens = chat_use(chat_settings or {})
    return json.dumps({"api_key": api_key, "base_url": base_url.rstrip("/"), "model": model, "max_tokens": max_tokens})


def reveal(value: Optional[str], base_url: str, chat_settings: Optional[dict] = None) -> str:
    """The key itself, read from its block only where it is used (inside the flow run), and only
    for the endpoint, model and token budget it was stored with: a reference copied into another
    config (another endpoint, a dearer model, a larger budget) sends nothing."""
    if not is_reference(value):
        return value or ""  # a run started in the UI may carry a plain value
    from prefect.blocks.system import Secret

    stored = Secret.load(value[len(REFERENCE_PREFIX):], _sync=True).get()  # _sync: never a coroutine here
    return unseal(stored, base_url, chat_settings)


def unseal(stored: object, base_url: str, chat_settings: Optional[dict] = None) -> str:
    """The key of a block's value, when this use keeps to what it was stored for; else KeyRefused."""
    bound = stored
    if isinstance(stored, str):  # Prefect's Secret block hands a JSON text back as a dict, or not
        try:
            bound = json.loads(stored)
        except ValueError:
            bound = {}
    if not isinstance(bound, dict) or bound.get("base_url") != base_url.rstrip("/"):
        raise KeyRefused(f"the stored key may only be sent to the endpoint it was stored with, not {base_url}")
    check_use(bound, chat_settings or {})
    return str(bound["api_key"])


def check_use(bound: dict, chat_settings: dict) -> None:
    """A key stored before it was bound to a model has only its endpoint to keep to."""
    if "model" not in bound:
        return
    model, max_tokens = chat_use(chat_settings)
    if model != bound["model"] or max_tokens > int(bound["max_tokens"]):
        raise KeyRefused(f"the stored key was given for model {bound['model']} with at most {bound['max_tokens']} "
                         f"tokens, not {model} with {max_tokens}")
