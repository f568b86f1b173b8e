"""What the service reads from Prefect: runs by id, pages and counts of the farm's runs, special cases."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional
from uuid import UUID

from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
    FlowRunFilterWorkQueueName,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort, LogSort
from prefect.exceptions import ObjectNotFound

from api.gateways.prefect_connection import PrefectPart, RunGone, existing, reachable
from api.gateways.prefect_runs import as_past_state, as_run
from api.gateways.runs import PastState, Run
from contract.names import (
    ACCOUNTS_DEPLOYMENT, FARM_TAG, INBOX_QUEUE, RECORDED_TAG, SCRIPT_TAG, SERIAL_TAG, SOURCE_TAG, tag,
)

FINAL_STATE_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


@dataclass(frozen=True)
class LogLine:
    time: datetime
    level: str  # DEBUG, INFO, WARNING, ERROR, CRITICAL (or "Level N")
    message: str


@dataclass(frozen=True)
class RunQuery:
    """Which of the farm's runs a listing or a count wants."""

    serial: Optional[str] = None
    script_name: Optional[str] = None
    source: Optional[str] = None
    state_types: Optional[tuple[str, ...]] = None


class RunQueries(PrefectPart):
    """Reads of flow runs: by id, pages and counts, their states and logs, account reads, UI runs."""

    def unrecorded_account_reads(self) -> list[Run]:
        """Completed read-accounts runs whose accounts the index has not taken yet, oldest first."""
        with reachable(self._health):
            runs = self._client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[self.deployment_id(ACCOUNTS_DEPLOYMENT)]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED])),
                ),
                sort=FlowRunSort.END_TIME_DESC, limit=50,
            )
        return [as_run(run) for run in reversed(runs) if RECORDED_TAG not in run.tags]

    def table_rows(self, flow_run_id) -> list[dict]:
        """The rows of the table artifacts a run left."""
        with reachable(self._health):
            artifacts = self._client.read_artifacts(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(str(flow_run_id))]))
            )
        rows = []
        for artifact in artifacts:
            data = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
            rows.extend(row for row in data or [] if isinstance(row, dict))
        return rows

    def read_run(self, flow_run_id: str) -> Run:
        with reachable(self._health):
            try:
                return as_run(self._client.read_flow_run(UUID(flow_run_id)))
            except ObjectNotFound as error:
                raise RunGone(flow_run_id) from error

    def read_runs(self, flow_run_ids: list[str]) -> dict[str, Run]:
        if not flow_run_ids:
            return {}
        with reachable(self._health):
            runs = self._client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in flow_run_ids])),
                limit=len(flow_run_ids),
            )
        return {str(run.id): as_run(run) for run in runs}

    def _filter(self, query: RunQuery) -> FlowRunFilter:
        tags = [FARM_TAG]
        if query.serial is not None:
            tags.append(tag(SERIAL_TAG, query.serial))
        if query.script_name is not None:
            tags.append(tag(SCRIPT_TAG, query.script_name))
        if query.source is not None:
            tags.append(tag(SOURCE_TAG, query.source))
        return FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[self.deployment_id()]),
            tags=FlowRunFilterTags(all_=tags),
            state=(
                FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(t) for t in query.state_types]))
                if query.state_types is not None
                else None
            ),
        )

    def page(self, query: RunQuery, *, offset: int, limit: int) -> list[FlowRun]:
        """Runs newest first: run names start with the zero-padded task id. Prefect's own runs: the
        supervision settles them by Prefect's state types."""
        with reachable(self._health):
            return self._client.read_flow_runs(
                flow_run_filter=self._filter(query), sort=FlowRunSort.NAME_DESC, offset=offset, limit=limit
            )

    def count(self, query: RunQuery) -> int:
        with reachable(self._health):
            return self._client.count_flow_runs(flow_run_filter=self._filter(query))

    def active_runs(self) -> list[FlowRun]:
        """The farm's runs that hold a phone right now."""
        return self.page(RunQuery(state_types=("PENDING", "RUNNING", "CANCELLING")), offset=0, limit=200)

    def lasting_stops(self, older_than: timedelta) -> list[Run]:
        """Runs Cancelling for longer than `older_than`: a worker ends a stop within seconds, unless
        no process is left to end it (api.domain.deletion)."""
        cutoff = datetime.now(timezone.utc) - older_than
        return [
            as_run(run) for run in self.page(RunQuery(state_types=("CANCELLING",)), offset=0, limit=200)
            if run.state is not None and run.state.timestamp < cutoff
        ]

    def states(self, flow_run_id) -> list[PastState]:
        """A run's states, oldest first."""
        with reachable(self._health), existing(flow_run_id):
            states = self._client.read_flow_run_states(UUID(str(flow_run_id)))
        return [as_past_state(state) for state in sorted(states, key=lambda state: state.timestamp)]

    def logs(self, flow_run_id: str, *, offset: int, limit: int) -> list[LogLine]:
        """A run's log lines (its flow's and its task runs'), oldest first: every re-run of it too."""
        with reachable(self._health):
            logs = self._client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(str(flow_run_id))])),
                offset=offset, limit=limit, sort=LogSort.TIMESTAMP_ASC,
            )
        return [LogLine(log.timestamp, logging.getLevelName(log.level), log.message) for log in logs]

    def unindexed_runs(self) -> list[Run]:
        """Runs started on the deployment outside the API (the Prefect UI) that nobody has adopted:
        those without tags, and those waiting in the inbox; each once, though it may be both."""
        deployment = FlowRunFilterDeploymentId(any_=[self.deployment_id()])
        with reachable(self._health):
            untagged = self._client.read_flow_runs(
                flow_run_filter=FlowRunFilter(deployment_id=deployment, tags=FlowRunFilterTags(is_null_=True)),
                limit=200,
            )
            waiting = self._client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=deployment,
                    work_queue_name=FlowRunFilterWorkQueueName(any_=[INBOX_QUEUE]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                ),
                limit=200,
            )
        return [as_run(run) for run in {run.id: run for run in [*untagged, *waiting]}.values()]
