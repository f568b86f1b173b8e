"""A callback goes exactly to the normalised URL the allowlist was checked against, over https unless
to this machine, signed over its timestamp, delivery id and body."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from api.domain.callbacks import (
    DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, CallbackPolicy, CallbackSender, signature, url_allowed,
)
from api.domain.errors import ApiError, Code
from api.gateways.index import Delivery

ALLOWED = ("https://hooks.test/hook", "http://127.0.0.1:9000/hook")
POLICY = CallbackPolicy(ALLOWED, "s3cret-s3cret-s3cret")


@pytest.mark.parametrize("url", [
    "https://hooks.test/hook/../admin/x",
    "https://hooks.test/hook/./x",
    "https://hooks.test/hook/..",
    "https://hooks.test/hook/%2e%2e/admin",
    "https://hooks.test/hook/%2E%2e/admin",
    "https://hooks.test/hook/..%2fadmin",
    "https://hooks.test/hook/..%2Fadmin",
    "https://hooks.test/hook/..%5cadmin",
    "https://hooks.test/hook\\..\\admin",
    "https://hooks.test/hook/a\\b",
    "https://hooks.test/hook/ x",
    "https://hooks.test/hooked",
    "http://hooks.test/hook/x",  # plain http off loopback
    "https://user:pw@hooks.test/hook/x",
])
def test_urls_that_could_leave_the_prefix_are_refused(url):
    assert not url_allowed(url, ALLOWED)
    with pytest.raises(ApiError) as caught:
        POLICY.check(url)
    assert caught.value.code == Code.INVALID


@pytest.mark.parametrize("url, stored", [
    ("https://hooks.test/hook", "https://hooks.test/hook"),
    ("HTTPS://Hooks.TEST:443/hook/x?a=1#frag", "https://hooks.test/hook/x?a=1"),
    ("http://127.0.0.1:9000/hook/done", "http://127.0.0.1:9000/hook/done"),
])
def test_allowed_urls_are_stored_normalised(url, stored):
    assert POLICY.check(url) == stored


def test_plain_http_is_refused_off_loopback_even_when_allowed():
    policy = CallbackPolicy(("http://hooks.test/hook",), "s3cret-s3cret-s3cret")
    with pytest.raises(ApiError, match="https"):
        policy.check("http://hooks.test/hook/x")


def test_the_signature_covers_timestamp_delivery_id_and_body():
    calls: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    sender = CallbackSender(None, POLICY, "http://prefect.test", now=lambda: 1_700_000_000.5)
    sender._http = httpx.Client(transport=httpx.MockTransport(receiver))
    assert sender._send(Delivery(id=7, task_id=1, url="https://hooks.test/hook/x", body='{"id": 1}', attempts=0)) is None
    [call] = calls
    assert str(call.url) == "https://hooks.test/hook/x"
    assert call.headers[TIMESTAMP_HEADER] == "1700000000" and call.headers[DELIVERY_HEADER] == "7"
    expected = hmac.new(b"s3cret-s3cret-s3cret", b'1700000000.7.{"id": 1}', hashlib.sha256).hexdigest()
    assert call.headers[SIGNATURE_HEADER] == "sha256=" + expected
    assert signature("s3cret-s3cret-s3cret", "1700000000", "8", b'{"id": 1}') != call.headers[SIGNATURE_HEADER]
