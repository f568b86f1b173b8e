"""Completion callbacks: where they may go, how they are signed, and the thread that delivers them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Callable, Optional
from urllib.parse import urlsplit

import httpx

from api.domain.errors import invalid
from api.domain.status import STATE_TYPES_BY_STATUS, TaskStatus
from api.domain.views import task_view
from api.gateways.index import CallbackOutbox, Delivery
from api.loop import Loop

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Phonefarm-Signature"
DELIVERY_HEADER = "X-Phonefarm-Delivery"
MAX_URL_LENGTH = 2000
ATTEMPTS = 8  # 2, 4, 8 ... 128 s apart: about four minutes before a receiver is given up on
TIMEOUT_SECONDS = 10.0
ENDED_TYPES = (*STATE_TYPES_BY_STATUS[TaskStatus.COMPLETED], *STATE_TYPES_BY_STATUS[TaskStatus.FAILED])
DEFAULT_PORTS = {"http": 80, "https": 443}


def _parts(url: str) -> Optional[tuple[str, str, int, str]]:
    try:
        split = urlsplit(url)
        port = split.port or DEFAULT_PORTS.get(split.scheme)
    except ValueError:
        return None
    if split.scheme not in DEFAULT_PORTS or not split.hostname or split.username or split.password:
        return None
    return split.scheme, split.hostname.lower(), port, split.path or "/"


def url_allowed(url: str, allowlist: tuple[str, ...]) -> bool:
    """Same scheme, host and port as an allowed prefix, and a path under its path."""
    wanted = _parts(url)
    if wanted is None:
        return False
    for allowed in allowlist:
        prefix = _parts(allowed)
        if prefix is None or prefix[:3] != wanted[:3]:
            continue
        path = prefix[3]
        if wanted[3] == path or wanted[3].startswith(path.rstrip("/") + "/"):
            return True
    return False


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class CallbackPolicy:
    def __init__(self, allowlist: tuple[str, ...], secret: Optional[str]):
        self.allowlist = allowlist
        self.secret = secret

    def check(self, url: Optional[str]) -> Optional[str]:
        """The URL a request may name, or 40001 with the reason."""
        if url is None:
            return None
        field = {"field": "callback_url"}
        if len(url) > MAX_URL_LENGTH or _parts(url) is None:
            raise invalid("callback_url must be an http(s) URL without credentials", field)
        if not self.secret:
            raise invalid("callback_url needs PHONEFARM_CALLBACK_SECRET set on the service (its calls are signed)", field)
        if not url_allowed(url, self.allowlist):
            raise invalid(f"callback_url {url} is not under an allowed prefix (PHONEFARM_CALLBACK_URLS)", field)
        return url


class CallbackSender(Loop):
    """Queues a call for each end of a task that names a callback_url (in the index, so a restart
    loses none) and delivers them: POST of the task object, signed, retried with back-off."""

    def __init__(self, outbox: CallbackOutbox, policy: CallbackPolicy, ui_url: str, *,
                 now: Callable[[], float] = time.time, every: float = 1.0):
        super().__init__("callback-sender", every, join_seconds=TIMEOUT_SECONDS + 5)
        self.outbox = outbox
        self.policy = policy
        self.ui_url = ui_url
        self.now = now
        self._http = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)

    def stop(self) -> None:
        super().stop()
        self._http.close()

    def run_once(self) -> None:
        self.queue_ends()
        self.deliver_due()

    def queue_ends(self) -> int:
        ends = self.outbox.ended_without_callback(ENDED_TYPES)
        bodies = [(end, json.dumps(task_view(end.row, self.ui_url), ensure_ascii=False)) for end in ends]
        return self.outbox.queue_callbacks(bodies, due_at=self.now()) if bodies else 0

    def deliver_due(self) -> None:
        for delivery in self.outbox.due_callbacks(self.now()):
            if self.stopping:
                return
            error = self._send(delivery)
            if error is None:
                self.outbox.callback_delivered(delivery.id)
                continue
            attempts = delivery.attempts + 1
            next_at = self.now() + 2 ** attempts if attempts < ATTEMPTS else None
            log.warning("callback %s of task %s: %s (%s)", delivery.id, delivery.task_id, error,
                        "giving up" if next_at is None else f"attempt {attempts} of {ATTEMPTS}")
            self.outbox.callback_failed(delivery.id, error, next_at)

    def _send(self, delivery: Delivery) -> Optional[str]:
        # Checked again: the allowlist or the secret may have changed since the request.
        if not self.policy.secret or not url_allowed(delivery.url, self.policy.allowlist):
            return "its URL is no longer allowed (PHONEFARM_CALLBACK_URLS) or no secret is set"
        body = delivery.body.encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(self.policy.secret, body),
                   DELIVERY_HEADER: str(delivery.id)}
        try:
            response = self._http.post(delivery.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
