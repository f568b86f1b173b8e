"""The licence plans: which ones may use the API and how many tasks each runs at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    api_enabled: bool
    device_limit: int


PLANS: dict[str, Plan] = {
    "Starter": Plan("Starter", api_enabled=False, device_limit=5),
    "Pro": Plan("Pro", api_enabled=True, device_limit=20),
    "Team": Plan("Team", api_enabled=True, device_limit=50),
    "Business": Plan("Business", api_enabled=True, device_limit=100),
}
