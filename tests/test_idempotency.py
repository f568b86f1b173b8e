"""Idempotency-Key on POST /task: a retried call gets the first answer and creates nothing new."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from api.domain.idempotency import Idempotency
from api.gateways.index import Index
from tests.service import tomorrow
from tests.test_api_errors import assert_error


LATER = tomorrow()  # the tasks here need no run; one value, so that equal requests stay equal


def follow(serials, *targets):
    return {"serials": serials, "script_name": "follow", "script_config": {"target_users": list(targets) or ["a"]},
            "start_time": LATER}


def post(service, body, key):
    return service.call("POST", "/task", json=body, headers={"Idempotency-Key": key})


@pytest.fixture
def serial(phones):
    return phones.take()[0]


def clean_up(service, ids):
    """Deleting stops the tasks at once: quicker than waiting for them to finish."""
    assert service.ok("DELETE", "/task/batch", json={"task_ids": list(ids)})["deleted_count"] == len(ids)


def total(service, serial):
    return service.ok("GET", "/task", params={"serial": serial})["total"]


def test_the_same_key_twice_gives_the_first_answer_and_creates_nothing(service, serial):
    key = str(uuid.uuid4())
    body = follow([serial], "x", "y")
    first = service.http.post(f"{service.base}/task", json=body, headers={"Idempotency-Key": key}, timeout=30)
    assert first.status_code == 200 and first.headers["Idempotent-Replayed"] == "false"
    assert first.json()["data"]["created_count"] == 2
    # Other spacing and key order: still the same request.
    raw = ('{ "start_time": "%s", "script_config": {"target_users": ["x", "y"]}, "script_name": "follow",'
           ' "serials": ["%s"] }' % (LATER, serial))
    again = service.http.post(f"{service.base}/task", data=raw, timeout=30,
                              headers={"Idempotency-Key": key, "Content-Type": "application/json"})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert total(service, serial) == 2
    clean_up(service, first.json()["data"]["task_ids"])


def test_the_same_key_with_another_body_is_refused(api, serial):
    key = str(uuid.uuid4())
    status, first = post(api, follow([serial], "x"), key)
    assert status == 200, first
    assert_error(post(api, follow([serial], "z"), key), 400, 40001, "Idempotency-Key", "different")
    assert total(api, serial) == 1
    clean_up(api, first["data"]["task_ids"])


def test_a_refused_request_leaves_the_key_usable(api, serial):
    key = str(uuid.uuid4())
    assert_error(post(api, follow(["no-such-phone"]), key), 400, 40001, "no-such-phone")
    # Fixed request, same key: now it creates (the error answer was not remembered).
    status, body = post(api, follow([serial]), key)
    assert status == 200 and body["data"]["created_count"] == 1, body
    clean_up(api, body["data"]["task_ids"])


def test_concurrent_requests_with_one_key_create_once(api, serial):
    key = str(uuid.uuid4())
    body = follow([serial], "p", "q", "r")
    answers = []

    def call():
        answers.append(api.call("POST", "/task", json=body, headers={"Idempotency-Key": key}))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status == 200 for status, _ in answers), answers
    assert len({tuple(a["data"]["task_ids"]) for _, a in answers}) == 1
    assert total(api, serial) == 3
    clean_up(api, answers[0][1]["data"]["task_ids"])


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9", "tab\tkey"])
def test_invalid_keys_are_refused(service, serial, key):
    status, body = service.call("POST", "/task", json=follow([serial]),
                                headers={"Idempotency-Key": key.encode("utf-8")})
    assert (status, body["code"]) == (400, 40001), body
    assert "Idempotency-Key" in body["message"]
    assert total(service, serial) == 0


def test_without_a_key_every_call_creates(api, serial):
    ids = api.create([serial], start_time=LATER) + api.create([serial], start_time=LATER)
    assert total(api, serial) == 2
    clean_up(api, ids)


def test_answers_older_than_the_ttl_are_forgotten_and_purged(tmp_path):
    index = Index(tmp_path / "index.db")
    calls = []

    def create():
        calls.append(1)
        return {"task_ids": [len(calls)], "created_count": 1}

    keys = Idempotency(index.answers, ttl=timedelta(seconds=-1))  # every answer is already too old
    assert keys.answer("k", {"a": 1}, create) == ({"task_ids": [1], "created_count": 1}, False)
    assert keys.answer("k", {"a": 1}, create) == ({"task_ids": [2], "created_count": 1}, False)
    assert index.store.db.execute("SELECT count(*) FROM idempotency").fetchone()[0] == 1
    fresh = Idempotency(index.answers)
    assert fresh.answer("k", {"a": 1}, create) == ({"task_ids": [2], "created_count": 1}, True)
    assert fresh.answer("k2", {"a": 1}, create)[1] is False and len(fresh.locks._locks) == 0
