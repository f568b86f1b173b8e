"""Accounts: which social-media account lives on which phone, and whether it may get tasks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable, Mapping, Optional, Sequence

from api.domain.account_marks import AccountMarks
from api.domain.errors import invalid, not_found
from api.domain.phones import PhoneDirectory
from api.domain.views import local_time
from api.gateways.index import Account, AccountTable
from api.gateways.prefect import RunQueries, RunWrites

def clean_username(name: str) -> str:
    name = name.strip().lstrip("@")
    if not name:
        raise invalid("username must not be empty", {"field": "username"})
    return name


def as_dict(account: Account) -> dict:
    marked = account.marked(datetime.now(timezone.utc))
    return {"username": account.username, "platform": account.platform, "serial": account.serial,
            "enabled": account.enabled,
            "mark": account.mark if marked else None,
            "mark_remark": account.mark_remark if marked else None,
            "marked_at": local_time(account.marked_at) if marked else None,
            "mark_until": local_time(account.mark_until) if marked else None,
            "tags": list(account.tags), "budgets": dict(account.budgets)}


def merged_budgets(own: Mapping[str, int], given: Mapping[str, Optional[int]]) -> dict[str, int]:
    """The account's own budgets after a request: each one given replaces, a null one goes back to the default."""
    merged = {**own, **given}
    return {key: value for key, value in sorted(merged.items()) if value is not None}


def status_dict(account: Account, online_models: dict[str, str]) -> dict:
    """An account as the original product's Accounts Status API writes it (never a password: the
    farm keeps none), with its mark."""
    mine = as_dict(account)
    online = account.serial in online_models
    return {"id": account.id, "username": account.username, "email": "", "platform": account.platform,
            "packagename": None, "device": account.serial, "device_online": online,
            "device_name": online_models.get(account.serial, ""),
            "logined": int(account.logined), "logined_text": "logged_in" if account.logined else "not_logged_in",
            "status": 0 if account.enabled else 1, "status_text": "enabled" if account.enabled else "disabled",
            "tags": list(account.tags),
            **{key: mine[key] for key in ("mark", "mark_remark", "marked_at", "mark_until")}}


@dataclass(frozen=True)
class AccountFilters:
    """GET /accounts' filters; None: any."""

    platform: Optional[str] = None
    device: Optional[str] = None
    logined: Optional[bool] = None
    enabled: Optional[bool] = None
    tag: Optional[str] = None

    def admit(self, account: Account) -> bool:
        return ((self.platform is None or account.platform == self.platform)
                and (self.device is None or account.serial == self.device)
                and (self.logined is None or account.logined == self.logined)
                and (self.enabled is None or account.enabled == self.enabled)
                and (self.tag is None or self.tag in account.tags))


def clean_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """Trimmed, without blanks or repeats, in the order given."""
    return tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))


class AccountBook:
    def __init__(self, table: AccountTable, phones: PhoneDirectory, runs: RunQueries, writes: RunWrites,
                 marks: AccountMarks, max_per_phone: int = 20):
        self.table = table
        self.max_per_phone = max_per_phone
        self.marks = marks
        self.phones = phones
        self.runs = runs
        self.writes = writes
        self.known_serials: Callable[[], set[str]] = phones.known_serials

    def list(self) -> list[dict]:
        return [as_dict(a) for a in self.table.accounts()]

    def status_page(self, filters: AccountFilters, page: int, page_size: int) -> dict:
        """The Accounts Status API: matching accounts in id order, a page of them."""
        matching = sorted((a for a in self.table.accounts() if filters.admit(a)), key=lambda a: a.id or 0)
        shown = matching[(page - 1) * page_size: page * page_size]
        online = ({p["serial"]: p.get("model", "") for p in self.phones.listing() if p.get("state") == "device"}
                  if shown else {})
        return {"accounts": [status_dict(a, online) for a in shown], "total": len(matching),
                "page": page, "page_size": page_size}

    def save(self, username: str, platform: str, serial: str, enabled: bool = True,
             tags: Sequence[str] = (), budgets: Optional[Mapping[str, Optional[int]]] = None) -> dict:
        if serial not in self.known_serials():
            raise invalid(f"Unknown serial {serial} (see GET /api/v1/device)", {"field": "serial"})
        existing = self.table.account(clean_username(username))
        # Replacing an account keeps what a phone read found, unless it moved to another phone.
        logined = bool(existing and existing.logined and existing.serial == serial)
        account = Account(clean_username(username), platform, serial, enabled, tags=clean_tags(tags), logined=logined)
        self._check_room(serial, account.username)
        self.table.save_account(account)
        if budgets is not None:  # given: they replace the account's own; not given: those stay
            self.table.set_budgets(account.username, merged_budgets({}, budgets))
        return as_dict(self.table.account(account.username))  # with its mark, if it has one

    def get(self, username: str) -> Account:
        account = self.table.account(clean_username(username))
        if account is None:
            raise not_found(f"Account {username} not found")
        return account

    def patch(self, username: str, *, enabled: Optional[bool] = None, serial: Optional[str] = None,
              tags: Optional[Sequence[str]] = None, budgets: Optional[Mapping[str, Optional[int]]] = None) -> dict:
        account = self.get(username)
        if serial is not None and serial not in self.known_serials():
            raise invalid(f"Unknown serial {serial}", {"field": "serial"})
        if serial is not None:
            self._check_room(serial, account.username)
        moved = serial is not None and serial != account.serial
        updated = replace(
            account,
            serial=serial if serial is not None else account.serial,
            enabled=enabled if enabled is not None else account.enabled,
            tags=clean_tags(tags) if tags is not None else account.tags,
            logined=account.logined and not moved,
        )
        self.table.save_account(updated)
        if budgets:
            self.table.set_budgets(updated.username, merged_budgets(dict(account.budgets), budgets))
        return as_dict(self.table.account(updated.username))

    def _others_on(self, serial: str, username: str) -> int:
        return sum(1 for a in self.table.accounts() if a.serial == serial and a.username != username)

    def _check_room(self, serial: str, username: str) -> None:
        if self._others_on(serial, username) >= self.max_per_phone:
            raise invalid(f"Phone {serial} already has {self.max_per_phone} accounts, the most a phone may have "
                          "(PHONEFARM_MAX_ACCOUNTS_PER_PHONE)", {"field": "serial"})

    def clear_mark(self, username: str) -> dict:
        return as_dict(self.marks.clear(clean_username(username)))

    def delete(self, username: str) -> None:
        if not self.table.delete_account(clean_username(username)):
            raise not_found(f"Account {username} not found")

    def record_found(self, found: dict[str, list[tuple[str, str]]]) -> list[dict]:
        """Store the accounts read from phones; an account seen on another phone moves with it."""
        saved = []
        for serial, accounts in found.items():
            # A phone's own list is bounded by its apps; a hostile one is cut at the same cap as the API.
            for platform, username in accounts[: self.max_per_phone]:
                if self._others_on(serial, username) >= self.max_per_phone:
                    break
                existing = self.table.account(username)
                enabled = existing.enabled if existing else True
                tags = existing.tags if existing else ()
                account = Account(username, platform, serial, enabled, tags=tags, logined=True)
                self.table.save_account(account)
                saved.append(as_dict(self.table.account(username)))
            self.table.note_logged_out(serial, [username for _, username in accounts])
        return saved

    def request_match(self, serials: Optional[list[str]]) -> dict:
        """Read the accounts of these phones (default: every attached one) in a flow run each, in
        the phone's own queue: never while a task drives it, and no API thread waits for a phone.
        The keeper records what each run found once it has completed."""
        attached = self.phones.attached_serials()
        serials = sorted(attached) if serials is None else list(dict.fromkeys(serials))
        unknown = [s for s in serials if s not in attached]
        if unknown:
            raise invalid(f"These phones are not attached: {', '.join(unknown)}", {"field": "serials"})
        runs = self.writes.create_account_reads(serials)
        return {"matching": [{"serial": s, "flow_run_id": runs[s]} for s in serials], "requested_count": len(serials)}

    def record_finished_matches(self) -> int:
        """Store what completed read-accounts runs found; returns how many runs were recorded."""
        runs = self.runs.unrecorded_account_reads()
        for run in runs:
            serial = str(run.parameters.get("serial") or "")
            rows = self.runs.table_rows(run.id)
            found = [(str(r.get("platform")), str(r.get("username"))) for r in rows if r.get("username")]
            if serial:
                self.record_found({serial: found})
            self.writes.mark_recorded(run)
        return len(runs)
