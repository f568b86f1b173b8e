"""Every simulated fault fails its task with a remark that says why, and leaves the phone free."""

from __future__ import annotations

import re

from simulator import apps
from tests.test_task_logs import wait_for_line


def break_target(phone):
    phone.missing_users.add("victim")


def break_upload(phone):
    phone.upload_never_finishes = True


def break_app(phone):
    phone.installed_packages.discard(apps.TIKTOK)


def break_session(phone):
    phone.logged_out.add(phone.accounts["tiktok"][0])


def break_cable(phone):
    phone.unplugged_seconds = 30  # longer than the automatic retry waits
    phone.disconnect_after_commands = 3


def break_feed(phone):
    phone.feed_dump_always_fails = True


def mend(phone):
    phone.missing_users.clear()
    phone.upload_never_finishes = False
    phone.installed_packages.add(apps.TIKTOK)
    phone.logged_out.clear()
    phone.feed_dump_always_fails = False
    phone.plug_in()


FOLLOW = {"script_name": "follow", "script_config": {"target_users": ["victim"]}}


FAULTS = [
    (break_target, FOLLOW, "does not exist"),
    (break_upload, {"script_name": "post", "script_config": {"upload_wait_time": 1}}, "did not finish"),
    (break_app, FOLLOW, "not installed"),
    (break_session, FOLLOW, "logged out"),
    (break_cable, FOLLOW, "connected"),  # "disconnected during the task", then "not connected" on the retry
    (break_feed, {"script_name": "account_warmup", "script_config": {"task_duration": 3, "min_duration": 1, "max_duration": 1}},
     "UI not recognised"),
]


def test_every_fault_fails_its_task_with_its_remark_and_frees_the_phone(service, phones, video):
    """Each fault on a phone of its own, all at once; then one survivor task on every faulted phone."""
    serials = phones.take(len(FAULTS))
    service.match_accounts([s for s, (fault, _, _) in zip(serials, FAULTS) if fault is break_session])
    service.health_read(s for s, (fault, _, _) in zip(serials, FAULTS) if fault is break_cable)
    tasks = {}
    for serial, (fault, request_body, _remark) in zip(serials, FAULTS):
        phone = phones[serial]
        fault(phone)
        body = {"serials": [serial], **request_body}
        if fault is break_session:  # the session of the account the task acts as has expired
            body = {"usernames": [phone.accounts["tiktok"][0]], **request_body}
        if body["script_name"] == "post":
            body["script_config"] = {**body["script_config"], "material_list": [str(video)]}
        [tasks[fault.__name__]] = service.ok("POST", "/task", json=body)["task_ids"]
    for (fault, _, remark) in FAULTS:
        task = service.wait_for(tasks[fault.__name__], timeout=120)
        assert task["status"] == 3 and remark in task["remark"], (fault.__name__, task)
    # The cable's automatic retry waited a random time within the service's range (tests/service.py).
    retried = wait_for_line(service, tasks["break_cable"], lambda line: "trying again in" in line["message"])
    [wait] = [float(m) for line in retried for m in re.findall(r"trying again in ([\d.]+) s", line["message"])]
    assert 1.5 <= wait <= 2.5, retried
    for serial in serials:
        mend(phones[serial])
    survivors = service.create(serials, ["survivor"])
    for task_id in survivors:
        assert service.wait_for(task_id, timeout=90)["status"] == 2
