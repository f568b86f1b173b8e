"""A full disk under the data directory, in-process: writes are refused with 50301 before they start
and when the disk fills up under them; reads and health still answer. (The whole service on a full
disk, with a run ending meanwhile, is in test_destructive.py.)"""

from __future__ import annotations

from tests.harness import fill_disk, room_left, small_disk
from tests.inprocess import AppClient, wired_app
from tests.service import tomorrow

FOLLOW = {"script_name": "follow", "script_config": {"target_users": ["nobody"]}}


def test_writes_are_refused_before_they_start_when_room_is_short(service, adb, phones, tmp_path):
    [serial] = phones.take()
    with wired_app(service, adb, tmp_path, min_free_disk_mb=10**9) as wired:  # no disk has a petabyte free
        app = AppClient(wired)
        for method, path, body in [("POST", "/task", {"serials": [serial], **FOLLOW}),
                                   ("POST", "/task/1/retry", None), ("DELETE", "/task/1", None),
                                   ("POST", "/account", {"username": "u", "serial": serial, "platform": "tiktok"})]:
            status, answer = app.call(method, path, json=body)
            assert (status, answer["code"]) == (503, 50301), (method, path, answer)
            assert answer["message"].startswith("Not stored: the disk holding the data directory is full"), answer
            assert str(tmp_path) not in answer["message"]  # the server's paths are not the caller's to see
        health = app.ok("GET", "/health")
        assert health["disk"] == "full" and health["disk_free_mb"] > 0, health
        assert app.call("GET", "/task/stats")[0] == 200
        assert app.ok("GET", "/task", params={"serial": serial})["total"] == 0


def test_a_disk_that_fills_up_under_a_write_answers_50301_not_500(service, adb, phones, tmp_path):
    [serial] = phones.take()
    with small_disk(tmp_path, 4) as data_dir, wired_app(service, adb, data_dir, min_free_disk_mb=0) as wired:
        app = AppClient(wired)
        [created] = app.create([serial], ["before"], start_time=tomorrow())
        filler = fill_disk(data_dir)
        try:
            status, answer = app.call("POST", "/task", json={"serials": [serial], **FOLLOW, "start_time": tomorrow()})
            assert (status, answer["code"]) == (503, 50301), answer
            assert "is full" in answer["message"], answer
            assert [task["id"] for task in app.ok("GET", "/task", params={"serial": serial})["tasks"]] == [created]
        finally:
            filler.unlink()
        [after] = app.create([serial], ["after"], start_time=tomorrow())
        assert after > created
        assert app.ok("GET", "/health")["disk"] == "ok"


def test_a_delete_on_a_full_disk_answers_what_it_did(service, adb, phones, tmp_path):
    # With the disk filled to a little more room each time, some deletes find room for part of their
    # writes only: whatever each did, its answer must say it (all its tasks hidden, or none).
    [serial] = phones.take()
    with small_disk(tmp_path, 4) as data_dir, wired_app(service, adb, data_dir, min_free_disk_mb=0) as wired:
        app = AppClient(wired)
        created = [task_id for first in (0, 8, 16, 24)
                   for task_id in app.create([serial], [f"t{n}" for n in range(first, first + 8)], start_time=tomorrow())]
        outcomes = []
        for room_kb, pair in zip(range(4, 20), zip(created[::2], created[1::2])):
            with room_left(data_dir, room_kb):
                answer = app.call("DELETE", "/task/batch", json={"task_ids": list(pair)})[1]
            listed = {task["id"] for task in app.ok("GET", "/task", params={"serial": serial, "page_size": 100})["tasks"]}
            outcomes.append((room_kb, answer["code"], [task_id in listed for task_id in pair]))
        for _, code, listed in outcomes:
            assert listed == [code != 0] * 2, outcomes


def test_a_create_with_an_idempotency_key_on_a_full_disk_answers_what_it_did(service, adb, phones, tmp_path):
    # The tasks and the answer the key remembers are two writes: whatever each create stored, its answer must say it.
    [serial] = phones.take()
    with small_disk(tmp_path, 4) as data_dir, wired_app(service, adb, data_dir, min_free_disk_mb=0) as wired:
        app = AppClient(wired)
        outcomes = []
        for room_kb in range(4, 24):
            with room_left(data_dir, room_kb):
                answer = app.call("POST", "/task", json={"serials": [serial], **FOLLOW, "start_time": tomorrow()},
                                  headers={"Idempotency-Key": f"key-{room_kb}"})[1]
            listed = app.ok("GET", "/task", params={"serial": serial, "page_size": 100})["total"]
            outcomes.append((room_kb, answer["code"], listed))
        created = 0
        for _, code, listed in outcomes:
            created += code == 0
            assert listed == created, str(outcomes)
