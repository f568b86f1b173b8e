"""The cap on accounts per phone: the API refuses one more, and a phone's own list is cut at it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.domain.accounts import AccountBook
from api.domain.errors import ApiError


@pytest.fixture
def book(index):
    return AccountBook(index.accounts, SimpleNamespace(known_serials=lambda: {"s1", "s2"}), None, None, None,
                       max_per_phone=3)


def test_a_phone_takes_accounts_up_to_the_cap_and_no_more(book, index):
    for name in ("a", "b", "c"):
        book.save(name, "tiktok", "s1")
    with pytest.raises(ApiError, match="already has 3 accounts") as refused:
        book.save("d", "tiktok", "s1")
    assert refused.value.code == 40001
    assert sorted(a.username for a in index.accounts.accounts()) == ["a", "b", "c"]  # nothing stored
    book.save("a", "instagram", "s1")  # an account already there may be saved again
    book.save("d", "tiktok", "s2")
    with pytest.raises(ApiError, match="already has 3 accounts"):
        book.patch("d", serial="s1")  # nor moved onto a full phone


def test_accounts_read_from_a_phone_are_cut_at_the_cap(book, index):
    found = [("tiktok", f"u{i}") for i in range(1000)]
    book.record_found({"s1": found})
    assert len([a for a in index.accounts.accounts() if a.serial == "s1"]) == 3
