"""Idempotency-Key on POST /task: a retried call within 24 h gets the first answer and creates nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Callable, Iterator, Optional

from api.domain.errors import invalid
from api.gateways.index import AnswerTable

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def check_key(key: str) -> str:
    if not _VALID_KEY.fullmatch(key):
        raise invalid(f"{HEADER} must be 1 to 255 visible ASCII characters (no spaces), e.g. a UUID", {"field": HEADER})
    return key


def fingerprint(media: Any) -> str:
    """The same JSON sent with other spacing or key order is the same request."""
    return hashlib.sha256(json.dumps(media, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class KeyedLocks:
    """One lock per key while anyone holds or waits for it, so the table cannot grow without end."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks: dict[str, list] = {}  # key -> [lock, holders and waiters]

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]


class Idempotency:
    """Only successful answers are remembered: a refused or failed call leaves the key usable."""

    def __init__(self, answers: AnswerTable, ttl: timedelta = TTL):
        self.answers = answers
        self.ttl = ttl
        self.locks = KeyedLocks()

    def answer(self, key: str, media: Any, create: Callable[[], dict]) -> tuple[dict, bool]:
        """(answer, replayed): the remembered answer for key, or create()'s, remembered now."""
        digest = fingerprint(media)
        # The lock makes a concurrent retry wait for the first call's answer instead of creating again.
        with self.locks.hold(key):
            remembered: Optional[tuple[str, dict]] = self.answers.idempotent_answer(key, self.ttl)
            if remembered is not None:
                body_hash, answer = remembered
                if body_hash != digest:
                    raise invalid(f"{HEADER} {key!r} was already used with a different request body; use a new key for a new request",
                                  {"field": HEADER})
                return answer, True
            answer = create()
            try:
                self.answers.remember_answer(key, digest, answer, self.ttl)
            except Exception:  # noqa: BLE001 - the tasks are stored: the answer must say so (an error would make the client create them again)
                log.exception("answer to %s %r not remembered; a retry with this key would create its tasks again", HEADER, key)
            return answer, False
