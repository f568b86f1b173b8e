"""The Accounts Status API's domain: filters, pages, login as the last phone read found it, tags, marks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from api.domain.account_marks import AccountMarks
from api.domain.accounts import AccountBook, AccountFilters
from api.domain.errors import ApiError

PHONES = [{"serial": "s1", "model": "Pixel 7", "state": "device"}, {"serial": "s2", "model": "Moto", "state": "offline"}]


@pytest.fixture
def book(index):
    phones = SimpleNamespace(known_serials=lambda: {"s1", "s2"}, listing=lambda: PHONES)
    marks = AccountMarks(index.accounts, rate_limit_pause=timedelta(minutes=60))
    return AccountBook(index.accounts, phones, None, None, marks, max_per_phone=10)


def page(book, page=1, page_size=20, **filters) -> dict:
    return book.status_page(AccountFilters(**filters), page, page_size)


def test_an_account_in_the_original_products_words(book):
    book.record_found({"s1": [("tiktok", "alice")]})
    book.save("bob", "instagram", "s2", enabled=False, tags=[" shop ", "eu", "shop", ""])
    alice, bob = page(book)["accounts"]
    assert alice == {"id": alice["id"], "username": "alice", "email": "", "platform": "tiktok", "packagename": None,
                     "device": "s1", "device_online": True, "device_name": "Pixel 7", "logined": 1,
                     "logined_text": "logged_in", "status": 0, "status_text": "enabled", "tags": [],
                     "mark": None, "mark_remark": None, "marked_at": None, "mark_until": None}
    assert {k: bob[k] for k in ("device_online", "device_name", "logined", "logined_text", "status", "status_text",
                                "tags")} == {"device_online": False, "device_name": "", "logined": 0,
                                             "logined_text": "not_logged_in", "status": 1, "status_text": "disabled",
                                             "tags": ["shop", "eu"]}
    assert "password" not in str(page(book))


def test_filters_each_narrow_the_list(book):
    book.record_found({"s1": [("tiktok", "a"), ("instagram", "b")]})
    book.save("c", "tiktok", "s2", tags=["shop"])
    book.save("d", "tiktok", "s2", enabled=False, tags=["shopping"])
    names = lambda **f: [a["username"] for a in page(book, **f)["accounts"]]  # noqa: E731
    assert names() == ["a", "b", "c", "d"]
    assert names(platform="instagram") == ["b"]
    assert names(device="s2") == ["c", "d"]
    assert names(logined=True) == ["a", "b"] and names(logined=False) == ["c", "d"]
    assert names(enabled=False) == ["d"]
    assert names(tag="shop") == ["c"]  # exact, not a prefix
    assert names(platform="tiktok", device="s2", enabled=True) == ["c"]


def test_pages_in_id_order_with_the_total_of_all_matching(book):
    for name in ("z", "y", "x", "w", "v"):  # ids follow creation, not the name
        book.save(name, "tiktok", "s1")
    first, last = page(book, 1, 2), page(book, 3, 2)
    assert [a["username"] for a in first["accounts"]] == ["z", "y"]
    assert (first["total"], first["page"], first["page_size"]) == (5, 1, 2)
    assert [a["username"] for a in last["accounts"]] == ["v"]
    assert page(book, 4, 2)["accounts"] == [] and page(book, 4, 2)["total"] == 5


def test_a_phone_read_that_misses_an_account_marks_it_logged_out(book):
    book.record_found({"s1": [("tiktok", "a"), ("tiktok", "b")]})
    book.record_found({"s1": [("tiktok", "b")]})
    assert [(a["username"], a["logined"]) for a in page(book)["accounts"]] == [("a", 0), ("b", 1)]
    book.patch("b", serial="s2")  # moved by hand: not known to be logged in on its new phone
    assert page(book, device="s2")["accounts"][0]["logined"] == 0


def test_tags_are_set_and_replaced_and_kept_by_other_changes(book, index):
    assert book.save("a", "tiktok", "s1", tags=["x"])["tags"] == ["x"]
    assert book.patch("a", enabled=False)["tags"] == ["x"]
    assert book.patch("a", tags=["y", "z"])["tags"] == ["y", "z"]
    book.record_found({"s1": [("tiktok", "a")]})  # a phone read keeps them
    assert book.patch("a", tags=[])["tags"] == []
    with pytest.raises(ApiError):
        book.patch("nobody", tags=["x"])


def test_a_mark_shows_in_both_answers_until_cleared(book, index):
    book.save("a", "tiktok", "s1")
    index.accounts.set_mark("a", "banned", "Account banned", 7, datetime.now(timezone.utc))
    assert page(book)["accounts"][0]["mark"] == "banned"
    assert book.list()[0]["mark_remark"] == "Account banned"
    book.clear_mark("a")
    assert page(book)["accounts"][0]["mark"] is None and book.list()[0]["mark"] is None
