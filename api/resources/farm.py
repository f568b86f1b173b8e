"""Falcon resources about the farm itself: phones, licence, health."""

from __future__ import annotations

from api.phones import PhoneDirectory
from devices.adb import server_alive
from api.plans import Plan
from api.resources.tasks import ok


class Devices:
    def __init__(self, phones: PhoneDirectory):
        self.phones = phones

    def on_get(self, req, resp):
        phones = self.phones.listing()
        ok(resp, {"devices": phones, "total": len(phones)})


class LicenseCheck:
    def __init__(self, plan: Plan):
        self.plan = plan

    def on_get(self, req, resp):
        message = (
            f"{self.plan.name} plan: API enabled, up to {self.plan.device_limit} tasks run at once"
            if self.plan.api_enabled
            else f"{self.plan.name} plan: the API is not included; upgrade to Pro, Team or Business"
        )
        ok(resp, {
            "plan_name": self.plan.name,
            "api_enabled": self.plan.api_enabled,
            "device_limit": self.plan.device_limit,
            "message": message,
        })


class Health:
    """Which parts of the farm answer; 200 with details either way, so monitors can read it."""

    def __init__(self, services):
        self.services = services

    def on_get(self, req, resp):
        prefect_up = self.services.tasks.orchestrator.healthy()
        phones = self.services.phones
        adb_up = server_alive(phones.adb)
        attached = [p for p in phones.seen_now(with_models=False) if p.state == "device"] if adb_up else []
        supervisor = self.services.supervisor
        processes = supervisor.status() if supervisor else {}
        ok(resp, {
            "api": "up",
            "prefect": "up" if prefect_up else "down",
            # Only a worker this service started is known here; other PCs' workers show in the Prefect UI.
            "worker": processes.get("worker", "unknown"),
            "adb": "up" if adb_up else "down",
            "phones": len(attached),
            "processes": processes,
            "restarts": supervisor.restarts() if supervisor else {},
        })
