"""GET /task filters and pages newest first; stats agree with the per-status listings."""

from __future__ import annotations

from tests.service import assert_stats_match_listings, tomorrow


def test_filters_pagination_and_order(service, phones):
    [serial] = phones.take()
    # Scheduled for tomorrow: they stay pending, which is all the listing needs.
    ids = service.create([serial], [f"l{i}" for i in range(5)], start_time=tomorrow())
    listing = service.ok("GET", "/task", params={"serial": serial, "page_size": 2})
    assert listing["total"] == 5 and listing["page"] == 1 and listing["page_size"] == 2
    assert [t["id"] for t in listing["tasks"]] == sorted(ids, reverse=True)[:2]
    pages = [service.ok("GET", "/task", params={"serial": serial, "page_size": 2, "page": p})["tasks"] for p in (1, 2, 3)]
    assert [t["id"] for page in pages for t in page] == sorted(ids, reverse=True)
    assert service.ok("GET", "/task", params={"serial": serial, "page": 4, "page_size": 2})["tasks"] == []

    assert service.ok("GET", "/task", params={"serial": serial, "status": 0})["total"] == 5
    assert service.ok("GET", "/task", params={"serial": serial, "status": 2})["total"] == 0
    assert service.ok("GET", "/task", params={"serial": serial, "script_name": "follow"})["total"] == 5
    assert service.ok("GET", "/task", params={"serial": serial, "script_name": "unfollow"})["total"] == 0
    assert service.ok("GET", "/task", params={"serial": serial, "source": "api"})["total"] == 5
    assert service.ok("GET", "/task", params={"serial": serial, "source": "ui"})["total"] == 0
    service.ok("POST", f"/task/{ids[0]}/stop")
    assert service.ok("GET", "/task", params={"serial": serial, "status": 3})["total"] == 1
    assert service.ok("GET", "/task", params={"serial": serial, "status": 0})["total"] == 4
    service.ok("DELETE", "/task/batch", json={"task_ids": ids})
    assert service.ok("GET", "/task", params={"serial": serial})["total"] == 0


def test_default_page_size_is_20(service, phones):
    [serial] = phones.take()
    ids = service.create([serial], [f"page{i}" for i in range(25)], start_time=tomorrow())
    try:
        listing = service.ok("GET", "/task", params={"serial": serial})  # no page or page_size given
        assert listing["page"] == 1 and listing["page_size"] == 20 and len(listing["tasks"]) == 20
        assert listing["total"] == 25
        assert [t["id"] for t in listing["tasks"]][:1] == [max(ids)]  # newest first
    finally:
        service.ok("DELETE", "/task/batch", json={"task_ids": ids})


def test_stats_match_the_listings(service):
    # Tasks of other tests may change state between the calls: compared at a moment stats hold still.
    assert_stats_match_listings(service)
