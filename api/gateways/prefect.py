"""Everything the API asks of the Prefect server: parts over one connection, failures turned into one error type."""

from __future__ import annotations

from typing import Optional

from api.gateways.prefect_connection import OrchestratorUnavailable, PrefectConnection, RunGone
from api.gateways.prefect_pcs import FarmPcs
from api.gateways.prefect_pool import SecretStore, WorkPool, locked_job_template
from api.gateways.prefect_queries import FINAL_STATE_TYPES, RunQueries, RunQuery
from api.gateways.prefect_schedules import PlanSchedules
from api.gateways.prefect_writes import NewRun, RunsNotCreated, RunWrites

__all__ = ["FINAL_STATE_TYPES", "FarmPcs", "NewRun", "Orchestrator", "OrchestratorUnavailable", "PlanSchedules",
           "PrefectConnection", "RunGone", "RunQueries", "RunQuery", "RunWrites", "RunsNotCreated", "SecretStore",
           "WorkPool", "locked_job_template"]


class Orchestrator:
    """The Prefect gateway's parts over one connection, built together for wiring: each service is
    given only the parts it uses."""

    def __init__(self, api_url: str, *, write_concurrency: int, auth_string: Optional[str] = None):
        self.connection = PrefectConnection(api_url, write_concurrency=write_concurrency, auth_string=auth_string)
        self.runs = RunQueries(self.connection)
        self.pool = WorkPool(self.connection)
        self.writes = RunWrites(self.connection, self.pool)
        self.schedules = PlanSchedules(self.connection)
        self.pcs = FarmPcs(self.connection)
        self.secrets = SecretStore(self.connection)

    def healthy(self) -> bool:
        return self.connection.healthy()

    def has_deployment(self, name: str) -> bool:
        return self.connection.has_deployment(name)

    def close(self) -> None:
        self.connection.close()
