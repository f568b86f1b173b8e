"""Benchmark the phone farm end to end, each figure beside Prefect's stock set-up measured in the same run."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))  # run as a script: make `api`, `devices` and `bench` importable

from bench.farm import error_lines, running_farm, use_database, wait_for_phones  # noqa: E402
from bench.measures import (  # noqa: E402
    FULL, PHONES, PROFILE_LOAD_SECONDS, QUICK, Sizes, count_by_outcome, create, fill_store, finished_count,
    follow_body, measure_create, measure_create_to_running, measure_hundred_phones, measure_reads,
    measure_throughput, targets, wait_for_runs_created, wait_until_finished,
)
from bench.clients import CLIENTS, fifty_clients_on_prefect, fifty_clients_on_the_api  # noqa: E402
from bench.stock import prefect_create, prefect_reads  # noqa: E402
from bench.report import print_burst, print_comparison, print_pcs  # noqa: E402
from bench.pcs import running_pcs, wait_for_pc_phones  # noqa: E402
from bench.pcs_measure import measure_pcs  # noqa: E402

BURST_PHONES = 20
BURST_PROFILE_LOAD_SECONDS = 1  # short tasks: the burst measures the farm, not the script
BUSINESS_PHONES = 100
BUSINESS_TASK_SECONDS = 60
BUSINESS_ENV = {"PHONEFARM_PLAN": "Business", "PHONEFARM_WORKER_LIMIT": str(BUSINESS_PHONES)}


def measured_commit() -> str:
    """The checkout's commit, with "+changes" when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def _finish(results: dict, api, data_dir: Path) -> None:
    results["http_5xx"] = list(api.server_errors)
    results["transport_errors"] = list(api.transport_errors)
    results["service_log_errors"] = error_lines(data_dir)


def run_ours(sizes: Sizes, data_dir: Path, results: dict, fill_budget_s: float) -> None:
    """The service as shipped; Prefect's own API is measured on the same server for comparison."""
    with running_farm(data_dir, PHONES, PROFILE_LOAD_SECONDS) as (farm, startup):
        api = farm.api
        try:
            serials = wait_for_phones(api, PHONES)
            startup["phones_online_s"] = round(time.monotonic() - startup.pop("simulator_started_at"), 1)
            results["startup"] = startup
            print(f"ours: healthy after {startup['service_ready_s']} s; create latency...", flush=True)
            results["create"] = measure_create(api, serials, sizes.create_repetitions)
            already = sizes.create_repetitions * (1 + 10 * len(serials)) + 100 * len(serials)
            print(f"ours: storing {sizes.stored_tasks} future tasks...", flush=True)
            results["fill"], fill_ids = fill_store(api, serials, sizes.stored_tasks, already, fill_budget_s)
            results["runs_created_s"] = round(wait_for_runs_created(api), 1)
            print(f"ours: runs created {results['runs_created_s']} s after the last answer; reads while"
                  f" {PHONES} phones work...", flush=True)
            working, _ = create(api, follow_body(serials, targets("busy", 6), None))
            read_ids = fill_ids or [task["id"] for task in api.get("/task", params={"page_size": 100})[0]["tasks"]]
            results["reads"] = measure_reads(api, read_ids, sizes.read_requests)
            results["prefect_reads"] = prefect_reads(farm, sizes.read_requests)
            wait_until_finished(api, working, timeout=600)
            print("ours: Prefect's own creates...", flush=True)
            # Once: one by one, with its client's back-off on every "database is locked", it takes minutes.
            results["prefect_create"] = prefect_create(farm, serials, 1)
            run_figures(api, farm, serials, sizes, results, "ours")
            # Last: the runs of the tasks the clients leave are created behind them for minutes.
            for key, load in (("clients", lambda: fifty_clients_on_the_api(api, serials)),
                              ("prefect_clients", lambda: fifty_clients_on_prefect(farm, serials))):
                print(f"ours: {CLIENTS} clients at once ({key}), phones working...", flush=True)
                working, _ = create(api, follow_body(serials, targets(f"busy_{key}", 4), None))
                results[key] = load()
                wait_until_finished(api, working, timeout=600)
        finally:
            _finish(results, api, data_dir)


def run_stock_worker(sizes: Sizes, data_dir: Path, results: dict) -> None:
    """The same service with Prefect's process worker: the run figures of a stock set-up."""
    with running_farm(data_dir, PHONES, PROFILE_LOAD_SECONDS, worker="stock") as (farm, startup):
        api = farm.api
        try:
            serials = wait_for_phones(api, PHONES)
            startup.pop("simulator_started_at")
            results["startup"] = startup
            run_figures(api, farm, serials, sizes, results, "stock")
        finally:
            _finish(results, api, data_dir)


def run_figures(api, farm, serials: list[str], sizes: Sizes, results: dict, setup: str) -> None:
    print(f"{setup}: create -> running...", flush=True)
    results["create_to_running"], running_ids = measure_create_to_running(api, serials, sizes.to_running_samples)
    wait_until_finished(api, running_ids, timeout=180)
    print(f"{setup}: throughput ({sizes.throughput_tasks} tasks)...", flush=True)
    results["throughput"], results["memory"] = measure_throughput(api, farm, serials, sizes.throughput_tasks)


def run_hundred_phones(data_dir: Path, results: dict, worker: str) -> None:
    """The Business plan on one PC: 100 phones, one 60-s task on each at once."""
    with running_farm(data_dir, BUSINESS_PHONES, 1, worker=worker, env=BUSINESS_ENV) as (farm, startup):
        api = farm.api
        try:
            serials = wait_for_phones(api, BUSINESS_PHONES, timeout=180)
            print(f"{worker}: 100 phones up; 100 tasks of {BUSINESS_TASK_SECONDS} s...", flush=True)
            results["startup"] = {"service_ready_s": startup["service_ready_s"]}
            results["hundred_phones"] = measure_hundred_phones(api, farm, serials, BUSINESS_TASK_SECONDS)
        finally:
            _finish(results, api, data_dir)


# Prefect's process worker serves every queue: on several PCs each would take the others' phones' runs.
STOCK_NOT_RUN = ("not run: Prefect's process worker serves every work queue of the pool, so a worker PC's"
                 " process worker would take runs for the other PCs' phones, which its adb server does not see")


def run_pcs(pcs: int, phones: int, data_root: Path, results: dict) -> None:
    """One API PC on PostgreSQL without phones and `pcs` worker PCs with `phones` each, one 60-s task on every phone."""
    with running_pcs(data_root, pcs, phones, 1, BUSINESS_ENV) as (api_pc, workers, startup):
        api = api_pc.api
        try:
            serials = wait_for_pc_phones(api, workers, phones, timeout=120 + 2 * phones * pcs)
            total = sum(len(s) for s in serials.values())
            print(f"{pcs} worker PCs, {total} phones up; {total} tasks of {BUSINESS_TASK_SECONDS} s"
                  f" under the farm-wide cap of {BUSINESS_PHONES}...", flush=True)
            results["startup"] = startup
            results["pcs"] = measure_pcs(api, api_pc, workers, serials, BUSINESS_TASK_SECONDS, BUSINESS_PHONES)
        finally:
            _finish(results, api, api_pc.data_dir)
            results["worker_pc_log_errors"] = {pc.data_dir.name: error_lines(pc.data_dir) for pc in workers}


def run_burst(tasks: int, data_dir: Path, results: dict) -> None:
    """One request of `tasks` tasks on 20 phones, run to the end."""
    with running_farm(data_dir, BURST_PHONES, BURST_PROFILE_LOAD_SECONDS) as (farm, startup):
        api = farm.api
        try:
            serials = wait_for_phones(api, BURST_PHONES)
            results["startup"] = {"service_ready_s": startup["service_ready_s"]}
            per_phone = -(-tasks // len(serials))
            print(f"burst of {per_phone * len(serials)} tasks on {len(serials)} phones...", flush=True)
            baseline = finished_count(api)
            started = time.monotonic()
            ids, create_seconds = create(api, follow_body(serials, targets("burst", per_phone), None))
            print(f"  created {len(ids)} in {create_seconds:.1f} s", flush=True)
            deadline = started + max(1800, len(ids) * 6)
            done = baseline
            while done < baseline + len(ids) and time.monotonic() < deadline:
                time.sleep(5)
                done = finished_count(api)
                print(f"  {done - baseline} finished after {time.monotonic() - started:.0f} s", flush=True)
            wall = time.monotonic() - started
            results["burst"] = {
                "tasks": len(ids), "phones": len(serials), "task_seconds_on_phone": BURST_PROFILE_LOAD_SECONDS,
                "create_s": round(create_seconds, 1), "wall_s": round(wall, 1),
                "tasks_per_min": round((done - baseline) / wall * 60, 1),
                **count_by_outcome(api, set(ids)),
            }
        finally:
            _finish(results, api, data_dir)


def interrupt(signum, frame) -> None:
    """SIGTERM to the benchmark stops the farm through the same finally blocks as Ctrl-C."""
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 stored tasks, 40 throughput tasks")
    parser.add_argument("--fill-budget", type=float, default=0,
                        help="seconds to spend storing future tasks before the reads (0: store them all)")
    parser.add_argument("--phones", type=int, metavar="100",
                        help="instead: the Business plan, one 60-s task on each of 100 phones at once"
                             " (with --pcs: phones per worker PC, any number)")
    parser.add_argument("--pcs", type=int, metavar="K",
                        help="with --phones N: K worker PCs of N phones each and an API PC on PostgreSQL, one"
                             " 60-s task on every phone under the Business plan's farm-wide cap")
    parser.add_argument("--only", choices=["ours", "stock"], help="measure one set-up (no comparison)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="Prefect's database in both set-ups (postgresql: a server each farm starts)")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data dirs (logs) afterwards")
    parser.add_argument("--output", type=Path, help="where the figures go (bench/results[-phones100|-burst][-postgresql].json)")
    parser.add_argument("--burst", type=int, nargs="?", const=1000, metavar="TASKS",
                        help="instead: run TASKS (1000) short tasks created in one request on 20 phones to the end")
    args = parser.parse_args(argv)
    if args.phones not in (None, BUSINESS_PHONES) and not args.pcs or args.pcs and not args.phones:
        parser.error(f"--phones is {BUSINESS_PHONES} on one PC; any number with --pcs, which needs it")
    if args.pcs:
        args.database, args.only = "postgresql", "ours"
    # Each kind of run has a file of its own: a Business-plan or burst run keeps the full run's figures.
    kind = f"-pcs{args.pcs}-phones{args.phones}" if args.pcs else "-phones100" if args.phones else "-burst" if args.burst else ""
    database = "" if args.database == "sqlite" or args.pcs else "-postgresql"
    args.output = args.output or REPO_DIR / "bench" / f"results{kind}{database}.json"
    use_database(args.database)
    signal.signal(signal.SIGTERM, interrupt)
    sizes = QUICK if args.quick else FULL
    data_root = Path(tempfile.mkdtemp(prefix="phonefarm-bench-"))
    data_root.chmod(0o711)  # PostgreSQL's own user passes through to its cluster under a farm's data dir
    results: dict = {"sizes": sizes.__dict__, "database": args.database,
                     "started_at": datetime.now().isoformat(timespec="seconds"), "commit": measured_commit()}
    started = time.monotonic()
    succeeded = False
    setups = [args.only] if args.only else ["ours", "stock"]
    try:
        for setup in setups:
            data_dir = data_root / setup
            data_dir.mkdir()
            results[setup] = {}
            if args.pcs:
                run_pcs(args.pcs, args.phones, data_dir, results[setup])
                results["stock"] = {"not_run": STOCK_NOT_RUN}
                break
            elif args.burst:
                run_burst(args.burst, data_dir, results[setup])
                break
            elif args.phones:
                run_hundred_phones(data_dir, results[setup], "fast" if setup == "ours" else "stock")
            elif setup == "ours":
                run_ours(sizes, data_dir, results[setup], args.fill_budget)
            else:
                run_stock_worker(sizes, data_dir, results[setup])
        succeeded = True
    except KeyboardInterrupt:
        print("interrupted; farm stopped", file=sys.stderr)
        return 130
    finally:
        results["total_s"] = round(time.monotonic() - started, 1)
        results["completed"] = succeeded
        args.output.write_text(json.dumps(results, indent=2) + "\n")
        if args.keep_data or not succeeded:  # a failed run keeps its logs for the post-mortem
            print(f"data dir kept: {data_root}", file=sys.stderr)
        else:
            shutil.rmtree(data_root, ignore_errors=True)
    if args.pcs:
        print_pcs(results)
    elif args.burst:
        print_burst(results["ours"])
    else:
        print_comparison(results)
    for setup in setups:
        for line in results.get(setup, {}).get("service_log_errors", [])[:10]:
            print(f"  {setup} log: {line}")
    print(f"\ntotal {results['total_s']} s; results in {args.output}")
    return 1 if any(results.get(s, {}).get("http_5xx") for s in setups) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
