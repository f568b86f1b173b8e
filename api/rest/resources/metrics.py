"""GET /metrics: the farm in Prometheus' text format, read from the index, the phones and the supervisor at each scrape."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, Optional

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from api.domain.account_marks import AccountMarks
from api.domain.phones import PhoneDirectory
from api.domain.status import task_status
from api.gateways.index import FarmReads
from api.gateways.prefect import Orchestrator

RUN_BUCKETS = (5, 10, 30, 60, 120, 300, 600, 1800, 3600)
START_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


def histogram(name: str, doc: str, observed: dict[str, list[float]], bounds: Iterable[float]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["script"])
    bounds = tuple(bounds)
    for script, values in sorted(observed.items()):
        buckets = [(str(bound), sum(1 for v in values if v <= bound)) for bound in bounds]
        family.add_metric([script], buckets + [("+Inf", len(values))], sum(values))
    return family


class FarmCollector:
    """Computed from the index at each scrape (the index is the copy of Prefect's run states), so a
    restart of the API loses nothing; deleting tasks lowers the histograms' counts."""

    def __init__(self, index: FarmReads, phones: PhoneDirectory, orchestrator: Orchestrator,
                 supervisor: Optional[object], marks: Optional[AccountMarks] = None):
        self.index, self.phones, self.orchestrator, self.supervisor = index, phones, orchestrator, supervisor
        self.marks = marks

    def collect(self):
        tasks = GaugeMetricFamily("phonefarm_tasks", "Tasks stored, by API status, Prefect state and script",
                                  labels=["status", "state", "script"])
        for state_type, script, count in self.index.counts_by("script_name"):
            tasks.add_metric([task_status(state_type).text, (state_type or "scheduled").lower(), script], count)
        yield tasks
        per_phone = GaugeMetricFamily("phonefarm_phone_tasks", "Tasks stored, by phone and API status",
                                      labels=["serial", "status"])
        counted: Counter = Counter()
        for state_type, serial, count in self.index.counts_by("serial"):
            counted[serial, task_status(state_type).text] += count
        for (serial, status), count in sorted(counted.items()):
            per_phone.add_metric([serial, status], count)
        yield per_phone
        yield from self._timings()
        listing = self.phones.listing()
        phones = GaugeMetricFamily("phonefarm_phones", "Phones listed, by PC and adb state", labels=["pc", "state"])
        for (pc, state), count in sorted(Counter((p["pc"], p["state"]) for p in listing).items()):
            phones.add_metric([pc, state], count)
        yield phones
        yield from self._health(listing)
        restarts = CounterMetricFamily("phonefarm_process_restarts", "Restarts of the service's child processes",
                                       labels=["process"])
        for process, count in sorted((self.supervisor.restarts() if self.supervisor else {}).items()):
            restarts.add_metric([process], count)
        yield restarts
        marked = GaugeMetricFamily("phonefarm_marked_accounts", "Accounts that get no task, by mark",
                                   labels=["mark"])
        for mark, count in (self.marks.counts() if self.marks else {}).items():
            marked.add_metric([mark], count)
        yield marked
        yield GaugeMetricFamily("phonefarm_prefect_up", "1 while the Prefect server answers",
                                value=1 if self.orchestrator.healthy() else 0)

    def _health(self, listing: list[dict]):
        """Each phone's last health reading, by serial (none before its first reading)."""
        gauges = {"battery_level_percent": GaugeMetricFamily("phonefarm_phone_battery_percent", "Battery level", labels=["serial"]),
                  "battery_temperature_c": GaugeMetricFamily("phonefarm_phone_temperature_celsius", "Battery temperature", labels=["serial"]),
                  "charging": GaugeMetricFamily("phonefarm_phone_charging", "1 while the phone is charging", labels=["serial"]),
                  "free_storage_mb": GaugeMetricFamily("phonefarm_phone_free_storage_megabytes", "Free space on /data", labels=["serial"])}
        kept_off = GaugeMetricFamily("phonefarm_phone_kept_off", "1 while the health guards keep new tasks off the phone",
                                     labels=["serial"])
        for phone in listing:
            if phone.get("health"):
                for field, gauge in gauges.items():
                    gauge.add_metric([phone["serial"]], float(phone["health"][field]))
                kept_off.add_metric([phone["serial"]], 1 if phone.get("kept_off") else 0)
        yield from gauges.values()
        yield kept_off

    def _timings(self):
        runs, starts = defaultdict(list), defaultdict(list)
        for script, due, start, end in self.index.timings():
            starts[script].append(max((start - due).total_seconds(), 0.0))
            if end is not None:
                runs[script].append(max((end - start).total_seconds(), 0.0))
        yield histogram("phonefarm_task_run_seconds", "Time from a task's run starting to its end", runs, RUN_BUCKETS)
        yield histogram("phonefarm_task_start_latency_seconds",
                        "Time from a task being due (created, or its start_time) to its run running",
                        starts, START_BUCKETS)


class Metrics:
    """GET /metrics (behind the token, like the API)."""

    def __init__(self, collector: FarmCollector):
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)

    def on_get(self, req, resp):
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(self.registry)
