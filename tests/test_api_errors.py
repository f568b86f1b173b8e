"""Bad input gets a clear error in the envelope (never a traceback or a 500), and changes nothing.
Most run against the app in-process (`api`); those through waitress (`service`) are the smoke tests."""

from __future__ import annotations

import pytest


def follow(serials, **extra):
    return {"serials": serials, "script_name": "follow", "script_config": {"target_users": ["a"]}, **extra}


def assert_error(response, http_status, code, *words):
    status, body = response
    assert status == http_status, body
    assert body["code"] == code, body
    assert set(body) == {"code", "message", "data"}
    for word in words:
        assert word in body["message"], body
    assert "Traceback" not in body["message"]


@pytest.fixture
def serial(phones):
    return phones.take()[0]


def test_missing_script_name_is_40002(api, serial):
    assert_error(api.call("POST", "/task", json={"serials": [serial], "script_config": {}}), 400, 40002, "script_name")


def test_unknown_script_is_40001(api, serial):
    body = follow([serial], script_name="dance")
    assert_error(api.call("POST", "/task", json=body), 400, 40001, "dance")


@pytest.mark.parametrize("script", ["like", "message", "super_marketing", "profile", "scrape_user"])
def test_known_but_not_runnable_is_40003(api, serial, script):
    body = follow([serial], script_name=script)
    assert_error(api.call("POST", "/task", json=body), 400, 40003, script)


@pytest.mark.parametrize("body, words", [
    ({"script_name": "follow", "script_config": {"target_users": ["a"]}}, ["serials"]),
    ({"serials": [], "usernames": [], "script_name": "follow", "script_config": {"target_users": ["a"]}}, ["serials"]),
    ({"serials": ["no-such-phone"], "script_name": "follow", "script_config": {"target_users": ["a"]}}, ["no-such-phone"]),
    ({"usernames": ["nobody"], "script_name": "follow", "script_config": {"target_users": ["a"]}}, ["nobody"]),
    ({"serials": "abc", "script_name": "follow", "script_config": {}}, ["serials"]),
    ({"serials": ["S"], "script_name": "follow"}, ["script_config"]),
    ({"serials": ["S"], "script_name": "follow", "script_config": {}}, ["Invalid script_config: ", "target_user"]),
    ({"serials": ["S"], "script_name": "follow", "script_config": {"target_users": "a"}}, ["script_config.target_users"]),
    ({"serials": ["S"], "script_name": "follow", "script_config": {"target_users": ["a"], "access_method": "teleport"}},
     ["script_config.access_method"]),
])
def test_invalid_create_bodies(api, serial, body, words):
    body = {**body, "serials": [serial] if body.get("serials") == ["S"] else body.get("serials")}
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(api.call("POST", "/task", json=body), 400, 40001, *words)


@pytest.mark.parametrize("extra, field", [
    ({"start_time": "25:00"}, "start_time"),
    ({"start_time": "tomorrow"}, "start_time"),
    ({"min_interval": 5, "max_interval": 1}, "min_interval"),
    ({"min_interval": -1}, "min_interval"),
    ({"enable_multi_account": "yes"}, "enable_multi_account"),
    # At the edge of the calendar: an overflow once (500), or a task id that was never stored.
    ({"start_time": "9999-12-31T23:59:59", "min_interval": 5, "max_interval": 10}, "start_time"),
    ({"start_time": "9999-12-31T23:59:59-12:00"}, "start_time"),
    ({"start_time": "2999-01-01T00:00:00"}, "start_time"),
])
def test_invalid_scheduling(api, serial, extra, field):
    before = api.ok("GET", "/task", params={"serial": serial})["total"]
    assert_error(api.call("POST", "/task", json=follow([serial], **extra)), 400, 40001, field)
    assert api.ok("GET", "/task", params={"serial": serial})["total"] == before


def test_multi_account_without_accounts_is_refused(api, serial):
    body = follow([serial], enable_multi_account=True)
    assert_error(api.call("POST", "/task", json=body), 400, 40001, "no enabled account")


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"null"])
def test_body_that_is_not_a_json_object(api, raw):
    status, body = api.call("POST", "/task", data=raw, headers={"Content-Type": "application/json"})
    assert status == 400 and body["code"] == 40001, body


def test_empty_body(service):
    assert_error(service.call("POST", "/task", data=b""), 400, 40001, "JSON object")


def test_nothing_is_created_by_a_refused_request(api, serial):
    before = api.ok("GET", "/task/stats")["total"]
    # The second phone is unknown, so the whole request is refused: none of its tasks exist.
    api.call("POST", "/task", json=follow([serial, "no-such-phone"]))
    assert api.ok("GET", "/task/stats")["total"] == before
    assert api.ok("GET", "/task", params={"serial": serial})["total"] == 0


@pytest.mark.parametrize("params, field", [
    ({"page_size": 101}, "page_size"),
    ({"page_size": 0}, "page_size"),
    ({"page": 0}, "page"),
    ({"status": 4}, "status"),
    ({"status": "done"}, "status"),
    ({"source": "cli"}, "source"),
])
def test_invalid_list_queries(api, params, field):
    assert_error(api.call("GET", "/task", params=params), 400, 40001, field)


def test_unknown_task_is_40401(api):
    for method, path in [("GET", "/task/999999"), ("DELETE", "/task/999999"),
                         ("POST", "/task/999999/stop"), ("POST", "/task/999999/retry")]:
        assert_error(api.call(method, path), 404, 40401, "999999")


def test_unknown_route_and_wrong_method_get_the_envelope(service):
    assert_error(service.call("GET", "/nope"), 404, 40401)
    assert_error(service.call("GET", "/task/abc"), 404, 40401)
    status, body = service.call("PUT", "/task")
    assert status == 405 and body["code"] == 40001


@pytest.mark.parametrize("body", [{}, {"task_ids": []}, {"task_ids": "1"}, {"task_ids": [1, "x"]}, {"task_ids": [True]}])
def test_batch_delete_needs_a_list_of_ids(api, body):
    assert_error(api.call("DELETE", "/task/batch", json=body), 400, 40001, "task_ids")


def test_license_check(api):
    data = api.ok("GET", "/license/check")
    assert data == {"plan_name": "Pro", "api_enabled": True, "device_limit": 20, "message": data["message"]}


def test_a_request_over_the_task_limit_is_refused_before_it_is_planned(api, phones):
    """Many targets x 3 phones once built hundreds of thousands of planned tasks before the limit refused them."""
    serials = phones.take(3)
    body = {"serials": serials, "script_name": "follow", "script_config": {"target_users": [f"u{i}" for i in range(1000)]}}
    assert_error(api.call("POST", "/task", json=body), 400, 40001, "3000 tasks", "limit is 200")
    caption = "{" * 21 + "deep" + "}" * 21
    body = {"serials": serials, "script_name": "post", "script_config": {"captions": caption, "materials_tags": "x"}}
    assert_error(api.call("POST", "/task", json=body), 400, 40001, "script_config.captions", "nested deeper")
