"""What --pcs measures: tasks on every worker PC's phones at once, the farm-wide cap from the phones' own markers,
the API PC's CPU by process kind, PostgreSQL's connections and events, and memory per PC."""

from __future__ import annotations

import threading
import time

from api.supervision.postgres import PostgresCluster, find_bin_dir
from bench.farm import Api, Farm, command_line, memory_snapshot, process_tree
from bench.idle import TICKS_PER_SECOND, cpu_ticks, phone_intervals, read_markers
from bench.measures import count_by_outcome, create, wait_until_finished

IDLE_SECONDS = 30


def api_pc_kind(pid: int, tree: dict[int, int]) -> str:
    """The API PC's processes by what costs CPU there: the Prefect server, PostgreSQL, the rest."""
    cmd = command_line(pid)
    if "server start" in cmd or "server start" in command_line(tree.get(pid, 0)):
        return "prefect_server"
    if "postgres" in cmd.split(" ", 1)[0] or cmd.startswith("postgres:"):
        return "postgresql"
    return "api_and_rest"


def api_pc_cpu_seconds(api_pc: Farm) -> dict[str, float]:
    """CPU seconds so far of the API PC's processes (and their reaped children) by kind."""
    tree = process_tree(api_pc.service.pid)
    seconds: dict[str, float] = {"prefect_server": 0.0, "postgresql": 0.0, "api_and_rest": 0.0}
    for pid in tree:
        seconds[api_pc_kind(pid, tree)] += cpu_ticks(pid) / TICKS_PER_SECOND
    return seconds


def postgresql_connections(api_pc: Farm) -> int:
    """PostgreSQL's client backends now: one process each, named `postgres: USER DATABASE ...`."""
    tree = process_tree(api_pc.service.pid)
    return sum(1 for pid in tree if command_line(pid).startswith("postgres: phonefarm prefect"))


def events_stored(api_pc: Farm) -> int:
    cluster = PostgresCluster(api_pc.data_dir / "postgres", find_bin_dir())
    return int(cluster.sql("SELECT count(*) FROM events", database="prefect") or 0)


class PcSampler:
    """Every PC's processes sampled in the background: each PC's largest PSS, the most flow-run
    processes on all PCs at once, the most PostgreSQL connections."""

    def __init__(self, api_pc: Farm, workers: list[Farm], every: float = 3.0):
        self.pcs = {"pc-api": api_pc, **{pc.data_dir.name: pc for pc in workers}}
        self.api_pc = api_pc
        self.every = every
        self.largest: dict[str, dict] = {}
        self.most_runs_at_once = 0
        self.most_connections = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="pc-sampler")

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            runs = 0
            for name, pc in self.pcs.items():
                snapshot = memory_snapshot(pc.service.pid, pc.extra_roles())
                pc.remember_tree()
                runs += snapshot.get("flow-run processes", {}).get("count", 0)
                pss = pc_pss_mb(snapshot)
                if pss >= self.largest.get(name, {}).get("pss_mb", 0):
                    self.largest[name] = {"pss_mb": pss, "flow_runs": snapshot.get("flow-run processes", {}).get("count", 0),
                                          "by_role": snapshot}
            self.most_runs_at_once = max(self.most_runs_at_once, runs)
            self.most_connections = max(self.most_connections, postgresql_connections(self.api_pc))
            self.samples += 1

    def __enter__(self) -> "PcSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def pc_pss_mb(snapshot: dict[str, dict]) -> float:
    """A PC's own PSS: every process but the simulator, which stands in for phones (on the phones, not the PC)."""
    return round(sum(entry["pss_mb"] for role, entry in snapshot.items() if role != "simulator"), 1)


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def phone_spans(workers: list[Farm], serials: dict[str, list[str]], task_ids: set[int]) -> list[tuple[float, float]]:
    """Every one of these tasks' (start, end) on its phone, from each phone's own logcat markers."""
    spans = []
    for pc in workers:
        for serial in serials[pc.data_dir.name]:
            intervals = phone_intervals(read_markers(pc, serial))
            spans += [span for task_id, span in intervals.items() if task_id in task_ids]
    return spans


def idle_load(api_pc: Farm, phones: int) -> dict:
    """The API PC's CPU while every phone is attached and no task runs (reports, heartbeats, polls)."""
    before = api_pc_cpu_seconds(api_pc)
    time.sleep(IDLE_SECONDS)
    after = api_pc_cpu_seconds(api_pc)
    cores = {kind: round((after[kind] - before[kind]) / IDLE_SECONDS, 3) for kind in before}
    return {"seconds": IDLE_SECONDS, "phones": phones, "cores": cores}


def measure_pcs(api: Api, api_pc: Farm, workers: list[Farm], serials: dict[str, list[str]], task_seconds: float,
                cap: int) -> dict:
    """One `task_seconds` warm-up on every phone of every worker PC, created in one request."""
    every_phone = [serial for pc_serials in serials.values() for serial in pc_serials]
    idle = idle_load(api_pc, len(every_phone))
    events_before = events_stored(api_pc)
    cpu_before = api_pc_cpu_seconds(api_pc)
    with PcSampler(api_pc, workers) as sampler:
        started = time.monotonic()
        ids, create_seconds = create(api, {"serials": every_phone, "script_name": "account_warmup", "script_config": {
            "task_duration": task_seconds, "topic": "dogs", "min_duration": 5, "max_duration": 10,
            "like_probable": 0, "comment_probable": 0}})
        rounds = -(-len(ids) // cap)
        refused: list[float] = []
        tasks = wait_until_finished(api, ids, timeout=rounds * task_seconds + 1200, busy=refused)
        wall = time.monotonic() - started
    cpu = {kind: round(seconds - cpu_before[kind], 1) for kind, seconds in api_pc_cpu_seconds(api_pc).items()}
    events = events_stored(api_pc) - events_before
    outcome = count_by_outcome(api, set(ids))
    spans = phone_spans(workers, serials, set(ids))
    server_cores = cpu["prefect_server"] / wall
    return {
        "pcs": len(workers), "phones": len(every_phone), "tasks": len(ids), "task_seconds": task_seconds, "cap": cap,
        "least_wall_s": rounds * task_seconds, "create_s": round(create_seconds, 2), "wall_s": round(wall, 1),
        **{k: outcome[k] for k in ("completed", "failed", "crashed", "unfinished")},
        "failure_remarks": outcome["failure_remarks"], "finished": len(tasks),
        "answers_50301": len(refused),
        "most_at_once_on_phones": most_at_once(spans), "spans_on_phones": len(spans),
        "most_flow_run_processes_sampled": sampler.most_runs_at_once,
        "api_pc_cpu_s": cpu, "prefect_server_cpu_s_per_run": round(cpu["prefect_server"] / len(ids), 3),
        "postgresql_cpu_s_per_run": round(cpu["postgresql"] / len(ids), 3),
        "prefect_server_cores": round(server_cores, 3),
        # Per phone: the server's cores over the run shared by the phones working at once (the cap).
        "prefect_server_cores_per_running_phone": round(server_cores / min(cap, len(ids)), 4),
        "idle": idle, "events_stored": events, "events_per_run": round(events / len(ids), 1),
        "most_postgresql_connections": sampler.most_connections,
        "memory_per_pc_pss_mb": {name: entry["pss_mb"] for name, entry in sampler.largest.items()},
        "memory_per_pc": sampler.largest, "memory_samples": sampler.samples,
    }
