"""Hostile bodies, ids and query strings get 40001/40401 with a useful message, never a 500, and change nothing.
Through the app in-process (`api`), except what only waitress can show (sizes, raw bytes in URLs)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.service import tomorrow
from tests.test_api_errors import assert_error

JSON = {"Content-Type": "application/json"}
LIMIT = 1024 * 1024  # Settings.max_body_bytes default


def follow(serials, **extra):
    return {"serials": serials, "script_name": "follow", "script_config": {"target_users": ["a"]}, **extra}


def post_raw(service, raw: bytes, path="/task", method="POST", headers=JSON):
    return service.call(method, path, data=raw, headers=headers)


@pytest.fixture
def serial(phones):
    return phones.take()[0]


@pytest.fixture
def unchanged(request):
    """The task count and the newest tasks are the same after the test as before it (statuses of
    tasks that earlier tests left running may move on meanwhile). Through the client the test uses."""
    client = request.getfixturevalue("service" if "service" in request.fixturenames else "api")

    def snapshot():
        listing = client.ok("GET", "/task", params={"page_size": 100})
        return client.ok("GET", "/task/stats")["total"], [(t["id"], t["script_config"]) for t in listing["tasks"]]
    before = snapshot()
    yield
    assert snapshot() == before


def deep(levels: int) -> bytes:
    return b'{"serials": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize("raw, words", [
    (b"{not json", ["not valid JSON", "line 1"]),
    (b"[1, 2]", ["JSON object"]),
    (b'"text"', ["JSON object"]),
    (b"42", ["JSON object"]),
    (deep(33), ["nested too deep", "32"]),
    (deep(100_000), ["nested too deep"]),
    (b'{"serials": ["a"], "min_interval": NaN}', ["NaN"]),
    (b'{"serials": ["a"], "min_interval": 1e999}', ["out of range"]),
    (b'{"min_interval": 9223372036854775808}', ["64 bits"]),
    (b'{"min_interval": ' + b"9" * 5000 + b"}", ["64 bits"]),
    (b'{"serials": ["a\\u0000b"], "script_name": "follow", "script_config": {}}', ["serials.0", "NUL"]),
    (b'{"script_config": {"tar\\u0000get": 1}}', ["script_config.tar\\u0000get", "NUL"]),
    (b'{"script_name": "\\ud800", "serials": ["x"], "script_config": {}}', ["script_name", "surrogate"]),
    (b'{"script_config": {"\\udfff": 1}}', ["surrogate"]),
    (b'{"script_name": "\xff\xfe"}', ["UTF-8"]),
    (b'{"script_name": "caf\xc3"}', ["UTF-8"]),
    (b'{"serials": ["a"]}\x00', ["not valid JSON"]),
])
def test_hostile_create_bodies(api, unchanged, raw, words):
    assert_error(post_raw(api, raw), 400, 40001, *words)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data", None])
def test_bodies_that_are_not_labelled_json_are_refused(api, serial, unchanged, content_type):
    """A browser sends these cross-site without a CORS preflight: the API reads JSON only."""
    raw = json.dumps(follow([serial])).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    assert_error(post_raw(api, raw, headers=headers), 400, 40001, "application/json")


def test_too_large_by_content_length(service, unchanged):
    raw = json.dumps(follow(["x" * (LIMIT + 10)])).encode()
    assert_error(post_raw(service, raw), 400, 40001, "too large", str(LIMIT))


def test_too_large_when_chunked(service, unchanged):
    def chunks():  # no Content-Length: the app must stop reading at the limit
        yield b'{"serials": ["'
        for _ in range(LIMIT // 65536):
            yield b"x" * 65536
        yield b"x" * 32768  # over the limit, under what waitress itself refuses (test_slow_clients.py)
        yield b'"]}'
    assert_error(post_raw(service, chunks()), 400, 40001, "too large")


def test_a_body_just_under_the_limit_is_read(api, serial, unchanged):
    body = follow([serial], padding="x" * (LIMIT - 200))
    raw = json.dumps(body).encode()
    assert len(raw) < LIMIT
    # Read and parsed: refused for its content (no such script), not for its size.
    body["script_name"] = "dance"
    assert_error(post_raw(api, json.dumps(body).encode()), 400, 40001, "dance")


@pytest.mark.parametrize("script_name, config, words", [
    ("post", {"captions": "x" * 100_000, "material_list": ["/a.jpg"]}, ["captions"]),
    ("account_warmup", {"comment": "c" * 151}, ["150"]),
    ("account_warmup", {"chatgpt_settings": {"max_tokens": 10**6}}, ["max_tokens"]),
    ("account_warmup", {"chatgpt_settings": {"anything": "else"}}, ["anything"]),
    ("follow", {"target_users": ["u" * 31]}, ["30 characters"]),
])
def test_text_longer_than_the_apps_allow_is_refused(api, serial, unchanged, script_name, config, words):
    body = {"serials": [serial], "script_name": script_name, "script_config": config}
    assert_error(api.call("POST", "/task", json=body), 400, 40001, *words)


def test_an_account_name_longer_than_the_apps_allow_is_refused(api, serial):
    body = {"username": "a" * 31, "platform": "instagram", "serial": serial}
    assert_error(api.call("POST", "/account", json=body), 400, 40001, "username", "30")


@pytest.mark.parametrize("body, words", [
    ({"serials": [1], "script_name": "follow", "script_config": {}}, ["serials.0"]),
    ({"serials": ["a"], "script_name": 7, "script_config": {}}, ["script_name"]),
    ({"serials": ["a"], "script_name": "follow", "script_config": []}, ["script_config"]),
    ({"serials": {"a": 1}, "script_name": "follow", "script_config": {}}, ["serials"]),
    ({"serials": ["a"], "script_name": "follow", "script_config": {}, "min_interval": 2**62}, ["min_interval"]),
    ({"serials": ["a"], "script_name": "follow", "script_config": {}, "min_interval": 1.5}, ["min_interval"]),
    ({"serials": ["s" * 201], "script_name": "follow", "script_config": {}}, ["serials.0", "200"]),
    ({"usernames": ["u" * 41], "script_name": "follow", "script_config": {}}, ["usernames.0", "40"]),
])
def test_wrong_types(api, unchanged, body, words):
    assert_error(api.call("POST", "/task", json=body), 400, 40001, *words)


@pytest.mark.parametrize("raw, words", [
    (b'{"task_ids": [9223372036854775808]}', ["64 bits"]),
    (b'{"task_ids": [' + b"1" * 5000 + b"]}", ["64 bits"]),
    (b'{"task_ids": [1.0]}', ["task_ids.0"]),
    (b'{"task_ids": ["\\u0000"]}', ["NUL"]),
])
def test_hostile_batch_deletes(api, unchanged, raw, words):
    assert_error(post_raw(api, raw, path="/task/batch", method="DELETE"), 400, 40001, *words)


def test_extreme_ids_in_a_batch_are_not_found(api, unchanged):
    ids = [2**63 - 1, -(2**63), 0, -1]
    assert api.ok("DELETE", "/task/batch", json={"task_ids": ids}) == {"deleted_count": 0, "not_found": ids}


@pytest.mark.parametrize("task_id", [str(2**63 - 1), str(2**63), str(2**64 + 5), "9" * 5000, "0", "-1", "1e3"])
def test_extreme_ids_in_the_path_are_not_found(api, unchanged, task_id):
    for method, suffix in [("GET", ""), ("DELETE", ""), ("POST", "/stop"), ("POST", "/retry"), ("GET", "/artifacts")]:
        assert_error(api.call(method, f"/task/{task_id}{suffix}"), 404, 40401)


@pytest.mark.parametrize("params, field", [
    ({"page": "9" * 5000}, "page"),
    ({"page": str(2**64)}, "page"),
    ({"page_size": "-" + "9" * 30}, "page_size"),
    ({"status": str(2**70)}, "status"),
])
def test_extreme_numbers_in_the_query(api, params, field):
    assert_error(api.call("GET", "/task", params=params), 400, 40001, field)


@pytest.mark.parametrize("value", ["a\x00b", "\u202eevil", "zero\u200bwidth", "\ufeffbom", "caf\u00e9", "\U0001f600"])
def test_odd_text_in_query_filters_is_just_data(api, value):
    data = api.ok("GET", "/task", params={"serial": value, "script_name": value})
    assert data["total"] == 0 and data["tasks"] == []


def test_invalid_utf8_in_the_query_is_not_a_500(service):
    response = requests.get(f"{service.base}/task?serial=%ff%fe&script_name=%ed%a0%80", timeout=30)
    assert response.status_code in (200, 400), response.text
    assert response.json()["code"] in (0, 40001)


def test_invalid_utf8_in_a_path_is_not_a_500(service):
    response = requests.delete(f"{service.base}/account/%ff%ed%a0%80", timeout=30)
    assert response.status_code in (400, 404), response.text
    assert response.json()["code"] in (40001, 40401)


def test_a_leading_byte_order_mark_is_tolerated(api, serial):
    raw = "\ufeff".encode() + json.dumps(follow([serial], script_name="dance")).encode()
    # Parsed (the BOM ignored): refused for the unknown script, not as malformed JSON.
    assert_error(post_raw(api, raw), 400, 40001, "dance")


def test_rtl_zero_width_and_bom_characters_are_kept_as_data(api, serial):
    targets = ["\u202etxet", "zero\u200bwidth", "\ufeffbom", "\u05e9\u05dc\u05d5\u05dd", "\U0001f600"]
    ids = api.create([serial], targets, start_time=tomorrow())
    configs = {api.task(i)["script_config"]["target_users"][0] for i in ids}
    assert configs == set(targets)
    assert api.ok("DELETE", "/task/batch", json={"task_ids": ids})["deleted_count"] == len(ids)
