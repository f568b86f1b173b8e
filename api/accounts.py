"""Accounts: which social-media account lives on which phone, and whether it may get tasks."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from api.errors import invalid, not_found
from api.index import Account, Index

Platform = Literal["tiktok", "instagram"]


class AccountBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: StrictStr = Field(min_length=1, max_length=100)
    platform: Platform
    serial: StrictStr = Field(min_length=1, max_length=200)
    enabled: StrictBool = True


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: Optional[StrictBool] = None
    serial: Optional[StrictStr] = Field(None, min_length=1, max_length=200)


class MatchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    serials: Optional[list[StrictStr]] = Field(None, max_length=1000)


def clean_username(name: str) -> str:
    name = name.strip().lstrip("@")
    if not name:
        raise invalid("username must not be empty", {"field": "username"})
    return name


def as_dict(account: Account) -> dict:
    return {"username": account.username, "platform": account.platform, "serial": account.serial, "enabled": account.enabled}


class AccountBook:
    def __init__(self, index: Index, known_serials):
        self.index = index
        self.known_serials = known_serials

    def list(self) -> list[dict]:
        return [as_dict(a) for a in self.index.accounts()]

    def save(self, body: AccountBody) -> dict:
        if body.serial not in self.known_serials():
            raise invalid(f"Unknown serial {body.serial} (see GET /api/v1/device)", {"field": "serial"})
        account = Account(clean_username(body.username), body.platform, body.serial, body.enabled)
        self.index.save_account(account)
        return as_dict(account)

    def get(self, username: str) -> Account:
        account = self.index.account(clean_username(username))
        if account is None:
            raise not_found(f"Account {username} not found")
        return account

    def patch(self, username: str, patch: AccountPatch) -> dict:
        account = self.get(username)
        if patch.serial is not None and patch.serial not in self.known_serials():
            raise invalid(f"Unknown serial {patch.serial}", {"field": "serial"})
        updated = Account(
            account.username,
            account.platform,
            patch.serial if patch.serial is not None else account.serial,
            patch.enabled if patch.enabled is not None else account.enabled,
        )
        self.index.save_account(updated)
        return as_dict(updated)

    def delete(self, username: str) -> None:
        if not self.index.delete_account(clean_username(username)):
            raise not_found(f"Account {username} not found")

    def record_found(self, found: dict[str, list[tuple[str, str]]]) -> list[dict]:
        """Store the accounts read from phones; an account seen on another phone moves with it."""
        saved = []
        for serial, accounts in found.items():
            for platform, username in accounts:
                existing = self.index.account(username)
                enabled = existing.enabled if existing else True
                account = Account(username, platform, serial, enabled)
                self.index.save_account(account)
                saved.append(as_dict(account))
        return saved
