"""Which PC serves which phone, and how PC reports are read: the rules alone (tests/test_pcs.py runs them on three PCs)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from contract.pcs import LIVE_SECONDS, PC_PHONES_EVENT, latest_reports, now_utc, report_event
from worker.served_phones import decide


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


def test_the_farm_can_judge_silence_sooner_or_later():
    """PHONEFARM_PC_SILENCE_SECONDS: the API's phone directory and a PC's worker read it alike."""
    import asyncio

    from api.domain.phones import PhoneDirectory
    from worker.served_phones import ServedPhones

    phone = {"serial": "s1", "state": "device", "model": "Pixel 7"}
    windows = []

    def reports(window_seconds):
        windows.append(window_seconds)
        return latest_reports([event("pc-b", [phone], 20), event("pc-a", [], 1)])  # pc-a: the API's own PC

    index = SimpleNamespace(remember_phones=lambda serials: None)
    sooner = PhoneDirectory(adb=None, phones=index, table=None, pc_name="pc-a", pc_reports=reports, silence_seconds=15)
    later = PhoneDirectory(adb=None, phones=index, table=None, pc_name="pc-a", pc_reports=reports)
    sooner.refresh_other_pcs()
    later.refresh_other_pcs()
    assert windows == [30, 2 * LIVE_SECONDS]  # reports read over twice the silence
    assert set(sooner.silent_pcs()) == {"pc-b"} and later.silent_pcs() == {}

    lagging = PhoneDirectory(adb=None, phones=index, table=None, pc_name="pc-a", silence_seconds=15,
                             pc_reports=lambda window: latest_reports([event("pc-b", [phone], 20), event("pc-a", [], 19)]))
    lagging.refresh_other_pcs()  # the server stores every PC's reports late: no PC is judged gone for it
    assert lagging.silent_pcs() == {}

    class Prefect:
        async def read_events(self, event_filter, limit):
            windows.append(round((now_utc() - event_filter.occurred.since).total_seconds()))
            return SimpleNamespace(events=[event("pc-b", [phone], 20)], next_page=None)

    # A worker serves no phone another live PC reports: pc-b is gone after 15 s, not after 30.
    assert asyncio.run(ServedPhones("pc-a", None, silence_seconds=15)._other_pcs_serials(Prefect())) == set()
    assert asyncio.run(ServedPhones("pc-a", None)._other_pcs_serials(Prefect())) == {"s1"}
    assert windows[2:] == [30, 2 * LIVE_SECONDS]
