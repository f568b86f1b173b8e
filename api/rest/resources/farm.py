"""Falcon resources about the farm itself: phones, licence, health."""

from __future__ import annotations

from typing import Optional

from api.domain.phones import PhoneDirectory
from api.domain.plans import Plan
from api.gateways.disk import DiskSpace
from api.gateways.prefect import Orchestrator
from api.rest import answers
from api.rest.resources.replies import ok


class Devices:
    def __init__(self, phones: PhoneDirectory):
        self.phones = phones

    def on_get(self, req, resp):
        phones = self.phones.listing()
        ok(resp, answers.Devices, {"devices": phones, "total": len(phones)})


class LicenseCheck:
    def __init__(self, plan: Plan):
        self.plan = plan

    def on_get(self, req, resp):
        message = (
            f"{self.plan.name} plan: API enabled, up to {self.plan.device_limit} tasks run at once"
            if self.plan.api_enabled
            else f"{self.plan.name} plan: the API is not included; upgrade to Pro, Team or Business"
        )
        ok(resp, answers.License, {
            "plan_name": self.plan.name,
            "api_enabled": self.plan.api_enabled,
            "device_limit": self.plan.device_limit,
            "message": message,
        })


class Health:
    """Which parts of the farm answer; 200 either way, so monitors can read it (without the token:
    the parts' status only; with it, the processes, their restarts and the free space too).
    It only reads: an unauthenticated flood of health checks must not slow the farm's writes."""

    def __init__(self, orchestrator: Orchestrator, phones: PhoneDirectory, disk: DiskSpace,
                 supervisor: Optional[object]):
        self.orchestrator = orchestrator
        self.phones = phones
        self.disk = disk
        self.supervisor = supervisor  # absent when the API runs without children of its own

    def on_get(self, req, resp):
        adb_up = self.phones.adb.alive()
        processes = self.supervisor.status() if self.supervisor else {}
        health = {
            "api": "up",
            "prefect": "up" if self.orchestrator.healthy() else "down",
            # Only a worker this service started is known here; other PCs' workers show in the Prefect UI.
            "worker": processes.get("worker", "unknown"),
            "adb": "up" if adb_up else "down",
            "phones": self.phones.attached_count() if adb_up else 0,
            # "full": writes are refused (50301) until space is freed under the data directory.
            "disk": "full" if self.disk.full() else "ok",
        }
        if req.context.get("authenticated", False):  # what runs here and how it fares: the operator's
            health.update(disk_free_mb=int(self.disk.free_mb()), processes=processes,
                          restarts=self.supervisor.restarts() if self.supervisor else {},
                          last_restarts=self.supervisor.last_restarts() if self.supervisor else {})
        ok(resp, answers.Health, health)

    def on_head(self, req, resp):
        resp.status = 200
