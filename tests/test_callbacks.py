"""Completion callbacks: each end of a task is POSTed once, signed, to an allowed receiver (a real process)."""

from __future__ import annotations

import json

import httpx

from api.domain.callbacks import DELIVERY_HEADER, TIMESTAMP_HEADER
from tests.harness import until
from tests.inprocess import AppClient, wired_app
from tests.receivers import CallbackReceiver

SECRET = "callback-secret-0123456789"


def delivered(receiver: CallbackReceiver, count: int, timeout: float = 30) -> list[dict]:
    return until(lambda: [call for call in receiver.calls() if call["answered"] == 200], timeout,
                 lambda calls: f"{len(calls)} of {count} callbacks after {timeout} s: {receiver.calls()}",
                 interval=0.2, accept=lambda calls: len(calls) >= count)


def written_down(outbox, timeout: float = 15) -> list[dict]:
    """The outbox once every delivery in it is marked delivered."""
    def settled():
        rows = outbox()
        return rows if all(d["delivered_at"] for d in rows) else None
    return until(settled, timeout, "every delivery written down")


def test_each_end_is_posted_once_signed_and_tried_again_after_a_refusal(service, adb, phones, tmp_path):
    with CallbackReceiver(tmp_path, SECRET, fail_first=1) as receiver, wired_app(
            service, adb, tmp_path / "api", callback_urls=[receiver.url.removesuffix("hooks")],
            callback_secret=SECRET) as wired:
        client = AppClient(wired)
        done_phone, failing_phone = phones.take(2)
        phones[failing_phone].missing_users.add("ghost")
        [done] = client.create([done_phone], ["alice"], callback_url=receiver.url)
        [failed] = client.create([failing_phone], ["ghost"], callback_url=receiver.url)
        [silent] = client.create([done_phone], ["bob"])  # no callback_url: no call
        ends = {task_id: client.wait_for(task_id) for task_id in (done, failed, silent)}
        assert (ends[done]["status"], ends[failed]["status"]) == (2, 3)

        calls = delivered(receiver, 2)
        for call in calls:
            # The receiver checked the signature over timestamp, delivery id and body, and the time.
            assert call["verified"] and call["headers"][TIMESTAMP_HEADER], call
            assert call["headers"]["Content-Type"] == "application/json" and call["headers"][DELIVERY_HEADER]
            assert call["path"] == "/hooks"
        # The same call again (a replay) is refused by a receiver that keeps delivery ids.
        replay = httpx.post(receiver.url, content=calls[0]["body"].encode(), headers={
            name: calls[0]["headers"][name] for name in ("Content-Type", TIMESTAMP_HEADER, DELIVERY_HEADER,
                                                         "X-Phonefarm-Signature")})
        assert replay.status_code == 401
        tasks = {json.loads(call["body"])["id"]: json.loads(call["body"]) for call in calls}
        assert set(tasks) == {done, failed}
        assert tasks[failed]["status"] == 3 and "does not exist" in tasks[failed]["remark"], tasks[failed]
        assert tasks[done]["status"] == 2 and tasks[done]["callback_url"] == receiver.url
        # The first call got 503: it was tried again (2 s later), and each end has one delivery.
        assert [call["answered"] for call in receiver.calls()].count(503) == 1
        # The receiver logs a call before the sender has its answer and writes it down: wait for that.
        outbox = written_down(lambda: wired.index.outbox.callbacks_of(done) + wired.index.outbox.callbacks_of(failed))
        assert sorted(d["attempts"] for d in outbox) == [1, 2], outbox
        assert wired.index.outbox.callbacks_of(silent) == []

        # A retried task ends again: one more call, with its new end.
        phones[failing_phone].missing_users.clear()
        client.ok("POST", f"/task/{failed}/retry")
        assert client.wait_for(failed, statuses=(2,))["status"] == 2
        last = json.loads(delivered(receiver, 3)[-1]["body"])
        assert (last["id"], last["status"], last["retry_count"]) == (failed, 2, 1)


def test_callback_urls_are_checked_before_anything_is_stored(service, adb, phones, tmp_path, api):
    [serial] = phones.take()
    # The session's app has no secret: no callbacks at all.
    status, body = api.call("POST", "/task", json={"serials": [serial], "script_name": "follow",
                                                   "script_config": {"target_users": ["a"]},
                                                   "callback_url": "http://127.0.0.1:9/hooks"})
    assert (status, body["code"]) == (400, 40001) and "PHONEFARM_CALLBACK_SECRET" in body["message"], body
    with wired_app(service, adb, tmp_path, callback_urls=["http://127.0.0.1:9/hooks/"], callback_secret=SECRET) as wired:
        client = AppClient(wired)
        for url in ("http://127.0.0.1:9/elsewhere", "http://127.0.0.1:10/hooks/x", "https://127.0.0.1:9/hooks/x",
                    "http://user:pw@127.0.0.1:9/hooks/x", "ftp://127.0.0.1:9/hooks/x", "http://127.0.0.1:9/hooksy",
                    "http://[::1/hooks", "x" * 2001, "http://127.0.0.1:9/hooks/../admin/x",
                    "http://127.0.0.1:9/hooks/..%2fadmin", "http://127.0.0.1:9/hooks\\..\\admin"):
            status, body = client.call("POST", "/task", json={"serials": [serial], "script_name": "follow",
                                                              "script_config": {"target_users": ["a"]}, "callback_url": url})
            assert (status, body["code"]) == (400, 40001) and "callback_url" in body["message"], (url, body)
        assert client.ok("GET", "/task")["total"] == 0
        [task_id] = client.create([serial], ["a"], callback_url="http://127.0.0.1:9/hooks/farm-1", start_time="23:59")
        assert client.task(task_id)["callback_url"] == "http://127.0.0.1:9/hooks/farm-1"
        client.ok("DELETE", f"/task/{task_id}")
