"""Completion callbacks: where they may go, how they are signed, and the thread that delivers them."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import time
from typing import Callable, Optional
from urllib.parse import urlsplit, urlunsplit

import httpx

from api.domain.errors import invalid
from api.domain.status import STATE_TYPES_BY_STATUS, TaskStatus
from api.domain.views import task_view
from api.gateways.index import CallbackOutbox, Delivery
from api.loop import Loop

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Phonefarm-Signature"
DELIVERY_HEADER = "X-Phonefarm-Delivery"
TIMESTAMP_HEADER = "X-Phonefarm-Timestamp"
MAX_URL_LENGTH = 2000
ATTEMPTS = 8  # 2, 4, 8 ... 128 s apart: about four minutes before a receiver is given up on
TIMEOUT_SECONDS = 10.0
ENDED_TYPES = (*STATE_TYPES_BY_STATUS[TaskStatus.COMPLETED], *STATE_TYPES_BY_STATUS[TaskStatus.FAILED])
DEFAULT_PORTS = {"http": 80, "https": 443}


# A receiver (or a proxy before it) may read these as "/" or "..": the path compared with the
# allowlist would not be the path served. Refused rather than guessed at.
AMBIGUOUS_PATH = re.compile(r"%2f|%5c|%2e|\\|%00", re.IGNORECASE)


class BadCallbackUrl(ValueError):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalised(url: str) -> str:
    """The one URL a callback is sent to: lower-case scheme and host, the port only when not the
    default, no fragment; refused when its path could be read two ways or leaves a secure scheme."""
    if any(ord(char) < 0x21 or ord(char) == 0x7f for char in url):
        raise BadCallbackUrl("callback_url must not contain spaces or control characters")
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError as error:
        raise BadCallbackUrl(f"callback_url is not a URL ({error})") from None
    scheme, host = split.scheme.lower(), (split.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or split.username or split.password:
        raise BadCallbackUrl("callback_url must be an http(s) URL without credentials")
    if scheme == "http" and not is_loopback(host):
        raise BadCallbackUrl("callback_url must be https (plain http only to this machine: 127.0.0.1, ::1, localhost)")
    if AMBIGUOUS_PATH.search(split.path) or any(part in (".", "..") for part in split.path.split("/")):
        raise BadCallbackUrl("callback_url's path must not hold '.' or '..' segments, backslashes or encoded "
                             "slashes, dots or NULs")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, split.path or "/", split.query, ""))


def url_allowed(url: str, allowlist: tuple[str, ...]) -> bool:
    """Same scheme, host and port as an allowed prefix, and a path under its path, both normalised."""
    try:
        wanted = urlsplit(normalised(url))
    except BadCallbackUrl:
        return False
    for allowed in allowlist:
        try:
            prefix = urlsplit(normalised(allowed))
        except BadCallbackUrl:
            continue
        if (prefix.scheme, prefix.netloc) != (wanted.scheme, wanted.netloc):
            continue
        if wanted.path == prefix.path or wanted.path.startswith(prefix.path.rstrip("/") + "/"):
            return True
    return False


def signature(secret: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    """HMAC-SHA256 over `<timestamp>.<delivery id>.<body>`: a receiver that checks the timestamp is
    recent and remembers delivery ids cannot be replayed to (docs/api.md)."""
    signed = f"{timestamp}.{delivery_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class CallbackPolicy:
    def __init__(self, allowlist: tuple[str, ...], secret: Optional[str]):
        self.allowlist = allowlist
        self.secret = secret

    def check(self, url: Optional[str]) -> Optional[str]:
        """The URL a request may name, or 40001 with the reason."""
        if url is None:
            return None
        field = {"field": "callback_url"}
        if len(url) > MAX_URL_LENGTH:
            raise invalid(f"callback_url must be at most {MAX_URL_LENGTH} characters", field)
        try:
            url = normalised(url)
        except BadCallbackUrl as error:
            raise invalid(str(error), field) from None
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
        timestamp, delivery_id = str(int(self.now())), str(delivery.id)
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, DELIVERY_HEADER: delivery_id,
                   SIGNATURE_HEADER: signature(self.policy.secret, timestamp, delivery_id, body)}
        try:
            # Exactly the URL that was checked: httpx is given it whole, never a relative join.
            response = self._http.post(normalised(delivery.url), content=body, headers=headers)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
