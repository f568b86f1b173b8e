"""Falcon resources of /account and /accounts."""

from __future__ import annotations

from typing import Optional

from api.domain.accounts import AccountBook, AccountFilters
from api.rest import answers
from api.rest.resources.replies import media, ok
from api.rest.schemas import AccountBody, AccountPatch, AccountsQuery, MatchBody, parse_body


class AccountCollection:
    def __init__(self, book: AccountBook):
        self.book = book

    def on_get(self, req, resp):
        accounts = self.book.list()
        ok(resp, answers.Accounts, {"accounts": accounts, "total": len(accounts)})

    def on_post(self, req, resp):
        body = parse_body(AccountBody, media(req))
        ok(resp, answers.Account, self.book.save(body.username, body.platform, body.serial, body.enabled, body.tags,
                                                    _given(body.budgets)))


class AccountStatusList:
    """GET /accounts: the original product's Accounts Status API, filtered and paged."""

    def __init__(self, book: AccountBook):
        self.book = book

    def on_get(self, req, resp):
        query = parse_body(AccountsQuery, dict(req.params))
        filters = AccountFilters(
            query.platform, query.device, None if query.logined is None else bool(query.logined),
            None if query.status is None else query.status == 0, query.tag)
        ok(resp, answers.AccountStatusPage, self.book.status_page(filters, query.page, query.page_size))


class AccountItem:
    def __init__(self, book: AccountBook):
        self.book = book

    def on_patch(self, req, resp, username: str):
        body = parse_body(AccountPatch, media(req))
        ok(resp, answers.Account, self.book.patch(username, enabled=body.enabled, serial=body.serial,
                                                            tags=body.tags, budgets=_given(body.budgets)))

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
    """Starts reading which accounts are logged in on the phones; the answer comes at once.

    Falcon routes /account/match here before /account/{username}, so the account named "match" is
    patched and deleted here too."""

    def __init__(self, book: AccountBook):
        self.book = book
        self.named_match = AccountItem(book)

    def on_post(self, req, resp):
        body = parse_body(MatchBody, media(req) or {})
        ok(resp, answers.Matched, self.book.request_match(body.serials))

    def on_patch(self, req, resp):
        self.named_match.on_patch(req, resp, username="match")

    def on_delete(self, req, resp):
        self.named_match.on_delete(req, resp, username="match")


def _given(budgets) -> Optional[dict]:
    """The budgets a body names (null included: back to the default); None when it names none."""
    return budgets.model_dump(exclude_unset=True) if budgets is not None else None
