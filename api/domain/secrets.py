"""Keep secrets out of run parameters and the index: a ChatGPT key goes into a Prefect Secret block."""

from __future__ import annotations

import hashlib
import threading

from api.gateways.prefect import SecretStore
from contract.secrets import chat_url, is_reference, reference, sealed


def secret_block_name(value: str) -> str:
    # The same key for the same endpoint always maps to the same block: a thousand tasks store it once.
    return f"chatgpt-key-{hashlib.sha256(value.encode()).hexdigest()[:16]}"


class SecretKeeper:
    def __init__(self, store: SecretStore):
        self.store = store
        self._saved: set[str] = set()
        self._lock = threading.Lock()

    def hide(self, script_config: dict) -> dict:
        """The config with `chatgpt_settings.api_key` replaced by a reference to its block."""
        chat = script_config.get("chatgpt_settings")
        key = chat.get("api_key") if isinstance(chat, dict) else None
        if not key or not isinstance(key, str) or is_reference(key):
            return script_config
        value = sealed(key, chat_url(chat), chat)  # the key may only ever go to this endpoint, model and budget
        name = secret_block_name(value)
        with self._lock:
            if name not in self._saved:
                self.store.save_secret(name, value)
                self._saved.add(name)
        return {**script_config, "chatgpt_settings": {**chat, "api_key": reference(name)}}
