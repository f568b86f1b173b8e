"""A web page the operator opens cannot drive the farm: cross-site requests, DNS rebinding and
form posts are refused (40302, or 40001 for a body that is not JSON); scripts are not affected."""

from __future__ import annotations

import pytest
import requests

from tests.service import tomorrow
from tests.test_api_errors import assert_error


@pytest.fixture
def serial(phones):
    return phones.take()[0]


def body(serial):
    return {"serials": [serial], "script_name": "follow", "script_config": {"target_users": ["a"]},
            "start_time": tomorrow()}


@pytest.mark.parametrize("headers, words", [
    ({"Origin": "https://evil.example"}, ["another origin"]),
    ({"Origin": "http://127.0.0.1:1"}, ["another origin"]),
    ({"Sec-Fetch-Site": "cross-site"}, ["Cross-site"]),
    ({"Sec-Fetch-Site": "same-site"}, ["Cross-site"]),
])
def test_cross_site_requests_are_refused_and_create_nothing(api, serial, headers, words):
    assert_error(api.call("POST", "/task", json=body(serial), headers=headers), 403, 40302, *words)
    assert_error(api.call("POST", "/task/retry-all", headers=headers), 403, 40302, *words)
    assert api.ok("GET", "/task", params={"serial": serial})["total"] == 0


def test_a_rebound_host_name_is_refused(api, serial):
    assert_error(api.call("GET", "/task/stats", headers={"Host": "attacker.example:50809"}), 403, 40302, "Host")


def test_same_origin_and_plain_scripts_get_in(api, serial):
    ids = api.ok("POST", "/task", json=body(serial), headers={"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"})
    ids = ids["task_ids"] + api.create([serial], start_time=tomorrow())  # no browser headers at all
    assert api.ok("DELETE", "/task/batch", json={"task_ids": ids})["deleted_count"] == 2


def test_through_waitress_a_form_post_from_another_site_is_refused(service, serial):
    """What a malicious page's <form method=post> sends: no preflight, a form body, its own Origin."""
    response = requests.post(f"{service.base}/task", data="x=1", timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example",
        "Sec-Fetch-Site": "cross-site"})
    assert (response.status_code, response.json()["code"]) == (403, 40302)
    response = requests.post(f"{service.base}/task", data=str(body(serial)), timeout=10,
                             headers={"Content-Type": "text/plain"})
    assert (response.status_code, response.json()["code"]) == (400, 40001)
    assert service.ok("GET", "/task", params={"serial": serial})["total"] == 0
