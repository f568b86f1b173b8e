"""Which PC serves which phone, and how PC reports are read: the rules alone (tests/test_pcs.py runs them on three PCs)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from flows.farm_pcs import LIVE_SECONDS, PC_PHONES_EVENT, latest_reports, now_utc, report_event
from flows.served_phones import decide


def test_a_pc_serves_the_phones_it_sees_and_keeps_an_unplugged_one():
    assert decide(set(), {"a", "b"}, set()) == ({"a", "b"}, set(), {"a", "b"})
    # "b" unplugged, reported by no other PC: still this PC's, its tasks wait for it here.
    assert decide({"a", "b"}, {"a"}, set()) == ({"a", "b"}, set(), {"a", "b"})


def test_a_phone_another_pc_reports_has_moved_there():
    assert decide({"a", "b"}, {"a"}, {"b"}) == ({"a"}, set(), {"a"})


def test_a_serial_two_pcs_see_at_once_is_served_by_neither():
    mine, contested, served = decide({"a"}, {"a", "dup"}, {"dup"})
    assert (mine, contested, served) == ({"a", "dup"}, {"dup"}, {"a"})
    # Once the other PC no longer reports it, it is served again.
    assert decide(mine, {"a", "dup"}, set())[2] == {"a", "dup"}


def event(pc: str, phones: list[dict], seconds_ago: float):
    made = report_event(pc, phones)
    return SimpleNamespace(event=made["event"], resource=made["resource"], payload=made["payload"],
                           occurred=now_utc() - timedelta(seconds=seconds_ago))


def test_each_pc_counts_by_its_newest_report_and_goes_silent_after_30_seconds():
    phone = {"serial": "s1", "state": "device", "model": "Pixel 7"}
    reports = latest_reports([event("pc-b", [], 2), event("pc-b", [phone], 8), event("pc-c", [phone], LIVE_SECONDS + 5),
                              event("pc-d", [{"no": "serial"}], 1)])
    assert report_event("pc-b", [])["event"] == PC_PHONES_EVENT
    assert reports["pc-b"].serials == set() and reports["pc-b"].live(now_utc())
    assert reports["pc-c"].serials == {"s1"} and not reports["pc-c"].live(now_utc())
    assert reports["pc-d"].phones == ()  # a malformed entry is dropped, not trusted
