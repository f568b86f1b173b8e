"""Where warm-up comments come from: the operator's templates, or an OpenAI-compatible endpoint."""

from __future__ import annotations

import itertools
import logging
import random
from typing import Callable, Optional

import requests

from contract.script_configs import COMMENT_EMOJI as EMOJI, DEFAULT_CHAT_MODEL, DEFAULT_MAX_TOKENS
from contract.secrets import KeyRefused, chat_url, endpoint_allowed, reveal

log = logging.getLogger(__name__)


def template_comments(lines: list[str], order: str, rng: random.Random) -> Callable[[], str]:
    cycle = itertools.cycle(lines)
    return (lambda: next(cycle)) if order == "sequential" else (lambda: rng.choice(lines))


def chatgpt_comments(settings: dict, allowlist: list[str], timeout: float = 30) -> Callable[[], str]:
    """One completion per comment from an allowed endpoint that speaks the OpenAI chat API."""
    base_url = chat_url(settings)
    if not endpoint_allowed(base_url, allowlist):
        raise KeyRefused(f"{base_url} is not an allowed comment endpoint")
    api_key = reveal(settings.get("api_key"), base_url, settings)

    def ask() -> str:
        response = requests.post(
            f"{base_url}/chat/completions",
            headers={"Authorization": f"Bearer {api_key}"},
            json={
                "model": settings.get("model", DEFAULT_CHAT_MODEL),
                "messages": [{"role": "user", "content": settings.get("prompt") or "Write a short, friendly comment for a video."}],
                "max_tokens": int(settings.get("max_tokens", DEFAULT_MAX_TOKENS)),
                "temperature": float(settings.get("temperature", 0.8)),
            },
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"].strip()

    return ask


def comment_source(config: dict, rng: random.Random, allowlist: list[str]) -> Optional[Callable[[], str]]:
    """None when the task never comments; a generator that can fail falls back to the templates, and
    so does one whose endpoint or key is refused (nothing is sent then)."""
    if not config["comment_probable"]:
        return None
    lines = [line.strip() for line in config["comment"].splitlines() if line.strip()]
    templates = template_comments(lines, config["comment_order"], rng) if lines else None
    generate = templates
    if config["generate_by_chatgpt"]:
        try:
            generate = chatgpt_comments(config["chatgpt_settings"], allowlist)
        except KeyRefused as refused:
            log.warning("comments from templates: %s", refused)
    if generate is None:
        return None

    def next_comment() -> str:
        try:
            text = generate()
        except (requests.RequestException, KeyError, IndexError, ValueError) as error:
            log.warning("comment generator failed (%s); using a template", type(error).__name__)
            text = templates() if templates else rng.choice(EMOJI)
        return f"{text} {rng.choice(EMOJI)}" if config["insert_emoji"] else text

    return next_comment
