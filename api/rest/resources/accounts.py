"""Falcon resources of /account."""

from __future__ import annotations

from api.domain.accounts import AccountBook
from api.rest import answers
from api.rest.resources.replies import media, ok
from api.rest.schemas import AccountBody, AccountPatch, MatchBody, parse_body


class AccountCollection:
    def __init__(self, book: AccountBook):
        self.book = book

    def on_get(self, req, resp):
        accounts = self.book.list()
        ok(resp, answers.Accounts, {"accounts": accounts, "total": len(accounts)})

    def on_post(self, req, resp):
        body = parse_body(AccountBody, media(req))
        ok(resp, answers.Account, self.book.save(body.username, body.platform, body.serial, body.enabled))


class AccountItem:
    def __init__(self, book: AccountBook):
        self.book = book

    def on_patch(self, req, resp, username: str):
        body = parse_body(AccountPatch, media(req))
        ok(resp, answers.Account, self.book.patch(username, enabled=body.enabled, serial=body.serial))

    def on_delete(self, req, resp, username: str):
        self.book.delete(username)
        ok(resp, answers.Deleted, {"deleted_count": 1})


class AccountMark:
    """Clears the account's mark: it gets tasks again."""

    def __init__(self, book: AccountBook):
        self.book = book

    def on_delete(self, req, resp, username: str):
        ok(resp, answers.Account, self.book.clear_mark(username))


class AccountMatch:
    """Starts reading which accounts are logged in on the phones; the answer comes at once."""

    def __init__(self, book: AccountBook):
        self.book = book

    def on_post(self, req, resp):
        body = parse_body(MatchBody, media(req) or {})
        ok(resp, answers.Matched, self.book.request_match(body.serials))
