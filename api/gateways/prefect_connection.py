"""The service's one Prefect client: reachability (one error type for a server that is down) and bounded writes."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator, Optional
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

from api.gateways.prefect_health import HealthWatch
from contract.names import DEPLOYMENT, WORK_POOL


class OrchestratorUnavailable(Exception):
    """The Prefect server did not answer (down, restarting, or overloaded)."""


class RunGone(Exception):
    """The flow run no longer exists in Prefect."""


@contextmanager
def reachable(health: Optional[HealthWatch] = None) -> Iterator[None]:
    if health is not None and not health.up:
        raise OrchestratorUnavailable("its health check fails")
    try:
        yield
    except (httpx.TransportError, OSError) as error:
        raise OrchestratorUnavailable(type(error).__name__) from error
    except PrefectHTTPStatusError as error:
        if error.response.status_code >= 500:
            raise OrchestratorUnavailable(f"HTTP {error.response.status_code}") from error
        raise


@contextmanager
def existing(flow_run_id) -> Iterator[None]:
    """A write to a run that a concurrent deletion removed raises RunGone, not Prefect's error."""
    try:
        yield
    except ObjectNotFound as error:
        raise RunGone(str(flow_run_id)) from error


class PrefectConnection:
    """One client shared by the API's threads; writes are bounded to spare SQLite."""

    def __init__(self, api_url: str, *, write_concurrency: int, auth_string: Optional[str] = None):
        self.api_url = api_url
        self.work_pool = WORK_POOL
        self._health = HealthWatch(api_url)
        self._client = SyncPrefectClient(api_url, auth_string=auth_string,
                                         httpx_settings={"timeout": httpx.Timeout(15.0, connect=2.0)})
        self._client.__enter__()
        self._writes = threading.BoundedSemaphore(write_concurrency)
        self._deployment_ids: dict[str, UUID] = {}

    def close(self) -> None:
        self._health.stop()
        self._client.__exit__(None, None, None)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._writes, reachable(self._health):
            yield

    def healthy(self) -> bool:
        return self._health.up

    def last_answered(self) -> Optional[datetime]:
        """When the server last answered a health probe (UTC); None if never since the API started."""
        return self._health.last_up

    def has_deployment(self, name: str) -> bool:
        try:
            self.deployment_id(name)
            return True
        except ObjectNotFound:
            return False

    def deployment_id(self, name: str = DEPLOYMENT) -> UUID:
        if name not in self._deployment_ids:
            with reachable(self._health):
                self._deployment_ids[name] = self._client.read_deployment_by_name(name).id
        return self._deployment_ids[name]



class PrefectPart:
    """One kind of request to Prefect, over the client, health watch and write bound it shares with the other parts."""

    def __init__(self, connection: PrefectConnection):
        self.connection = connection

    @property
    def _client(self) -> SyncPrefectClient:
        return self.connection._client

    @property
    def _health(self) -> HealthWatch:
        return self.connection._health

    @property
    def _deployment_ids(self) -> dict[str, UUID]:
        return self.connection._deployment_ids

    @property
    def work_pool(self) -> str:
        return self.connection.work_pool

    def _writing(self):
        return self.connection._writing()

    def deployment_id(self, name: str = DEPLOYMENT) -> UUID:
        return self.connection.deployment_id(name)

    def healthy(self) -> bool:
        return self.connection.healthy()

    def last_answered(self) -> Optional[datetime]:
        return self.connection.last_answered()
