"""Falcon resources of /account."""

from __future__ import annotations

from api.accounts import AccountBody, AccountBook, AccountPatch, MatchBody
from api.bodies import parse_body
from api.errors import invalid
from api.phones import PhoneDirectory
from api.resources.tasks import media, ok


class AccountCollection:
    def __init__(self, book: AccountBook):
        self.book = book

    def on_get(self, req, resp):
        accounts = self.book.list()
        ok(resp, {"accounts": accounts, "total": len(accounts)})

    def on_post(self, req, resp):
        ok(resp, self.book.save(parse_body(AccountBody, media(req))))


class AccountItem:
    def __init__(self, book: AccountBook):
        self.book = book

    def on_patch(self, req, resp, username: str):
        ok(resp, self.book.patch(username, parse_body(AccountPatch, media(req))))

    def on_delete(self, req, resp, username: str):
        self.book.delete(username)
        ok(resp, {"deleted_count": 1})


class AccountMatch:
    """Reads which accounts are logged in on the phones and records them."""

    def __init__(self, book: AccountBook, phones: PhoneDirectory):
        self.book = book
        self.phones = phones

    def on_post(self, req, resp):
        body = parse_body(MatchBody, media(req) or {})
        attached = {p.serial for p in self.phones.seen_now(with_models=False) if p.state == "device"}
        serials = body.serials if body.serials is not None else sorted(attached)
        unknown = [s for s in serials if s not in attached]
        if unknown:
            raise invalid(f"These phones are not attached: {', '.join(unknown)}", {"field": "serials"})
        found = {serial: self.phones.read_accounts(serial) for serial in serials}
        accounts = self.book.record_found(found)
        ok(resp, {"accounts": accounts, "matched_count": len(accounts)})
