"""The benchmark's table: each figure of ours beside the same figure for Prefect's stock set-up, with the ratio."""

from __future__ import annotations

from typing import Optional

from bench.clients import CLIENTS
from bench.measures import PHONES, PROFILE_LOAD_SECONDS


def _get(results: dict, *path) -> Optional[float]:
    for key in path:
        if not isinstance(results, dict) or key not in results:
            return None
        results = results[key]
    return results


def comparison_rows(results: dict) -> list[tuple[str, Optional[float], Optional[float], str, str]]:
    """(measure, ours, stock, unit, target); stock is Prefect's own API for creates and reads, and
    the same service with Prefect's process worker for runs (both measured in this run)."""
    ours, stock = results.get("ours", {}), results.get("stock", {})
    stored = _get(ours, "reads", "stored_total")
    rows = [
        ("service start -> healthy", _get(ours, "startup", "service_ready_s"),
         _get(stock, "startup", "service_ready_s"), "s", ""),
        ("create 1 task (median)", _get(ours, "create", "create_1_task", "median_ms"),
         _get(ours, "prefect_create", "create_1_task", "median_ms"), "ms", ""),
        ("create 100 tasks in one request (median)", _get(ours, "create", "create_100_tasks", "median_ms"),
         _get(ours, "prefect_create", "create_100_tasks", "median_ms"), "ms", "<= 500"),
        ("create 1,000 tasks in one request", _get(ours, "create", "create_1000_tasks", "median_ms"),
         None, "ms", "<= 2000"),
        (f"store {_get(ours, 'fill', 'stored_total')} tasks, 100 a request", _get(ours, "fill", "wall_s"),
         None, "s", "10,000 <= 60"),
        ("... their flow runs created behind the answers", _get(ours, "runs_created_s"), None, "s", ""),
    ]
    for name, label in (("list_page_size_20", "list, page of 20"), ("list_status_0", "list, status=0"),
                        ("detail", "detail"), ("stats", "stats")):
        for figure in ("median_ms", "p99_ms"):
            rows.append((f"{label} ({stored} stored, phones working), {figure.split('_')[0]}",
                         _get(ours, "reads", name, figure), _get(ours, "prefect_reads", name, figure), "ms",
                         "<= 50" if figure == "median_ms" else "<= 200"))
    for kind, label in (("all", "every request"), ("create", "creates")):
        for figure in ("median_ms", "p99_ms"):
            rows.append((f"{CLIENTS} clients at once, {label}, {figure.split('_')[0]}", _get(ours, "clients", kind, figure),
                         _get(ours, "prefect_clients", kind, figure), "ms", "<= 2000" if figure == "p99_ms" else ""))
    rows.append((f"{CLIENTS} clients at once, 5xx", _get(ours, "clients", "http_5xx"),
                 _get(ours, "prefect_clients", "http_5xx"), "", "0"))
    rows += [
        ("create -> running (median)", _get(ours, "create_to_running", "median_ms"),
         _get(stock, "create_to_running", "median_ms"), "ms", "<= 1000"),
        (f"throughput, {PROFILE_LOAD_SECONDS}-s tasks on {PHONES} phones", _get(ours, "throughput", "tasks_per_min"),
         _get(stock, "throughput", "tasks_per_min"), "/min", ">= 60"),
        ("... a phone idle between two queued tasks, median", _get(ours, "throughput", "phone_idle", "median_s"),
         _get(stock, "throughput", "phone_idle", "median_s"), "s", "<= 1"),
        ("... a phone idle between two queued tasks, p95", _get(ours, "throughput", "phone_idle", "p95_s"),
         _get(stock, "throughput", "phone_idle", "p95_s"), "s", "<= 2"),
        ("... Prefect server's CPU per run", _get(ours, "throughput", "prefect_server_cpu_s_per_run"),
         _get(stock, "throughput", "prefect_server_cpu_s_per_run"), "CPU-s", "<= 0.3"),
        ("private memory per running task", _private_per_run(ours), _private_per_run(stock), "MB", "<= 30"),
    ]
    for key in ("hundred_phones",):
        if key in ours or key in stock:
            rows += [
                ("100 phones: 60-s tasks completed", _get(ours, key, "completed"), _get(stock, key, "completed"), "", "100"),
                ("100 phones: crashed or failed", _sum(ours, key), _sum(stock, key), "", "0"),
                ("100 phones: all processes, RSS", _get(ours, key, "total_rss_mb"), _get(stock, key, "total_rss_mb"),
                 "MB", ""),
                ("100 phones: all processes, PSS", _get(ours, key, "total_pss_mb"), _get(stock, key, "total_pss_mb"),
                 "MB", "<= 4096"),
                ("100 phones: all processes, private", _get(ours, key, "total_private_mb"),
                 _get(stock, key, "total_private_mb"), "MB", ""),
            ]
    rows.append(("HTTP 5xx from the API", len(ours.get("http_5xx", [])), len(stock.get("http_5xx", [])) if stock else None, "", "0"))
    return rows


def _private_per_run(results: dict) -> Optional[float]:
    runs = _get(results, "memory", "busiest", "flow-run processes")
    if not runs or not runs.get("count"):
        return None
    return round(runs["private_mb"] / runs["count"], 1)


def _sum(results: dict, key: str) -> Optional[int]:
    if key not in results:
        return None
    return results[key]["crashed"] + results[key]["failed"] + results[key]["unfinished"]


def _show(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:g}"


def print_comparison(results: dict) -> None:
    rows = comparison_rows(results)
    header = ("measure", "ours", "stock", "stock/ours", "target")
    table = [header]
    for label, ours, stock, unit, target in rows:
        ratio = f"{stock / ours:.2g}x" if ours and stock is not None else "-"
        table.append((label, f"{_show(ours)} {unit}".strip(), f"{_show(stock)} {unit}".strip(), ratio, target))
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    print(f"\nPrefect's database: {results.get('database', 'sqlite')}")
    for row in table:
        print("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
    print("\nstock: creates, reads and the clients' mix asked of Prefect's own API on the same server (one"
          " create_flow_run_from_deployment per task; filter, read, count, set_state and delete endpoints);"
          " runs and memory on the same service with Prefect's process worker (PHONEFARM_WORKER=stock).")
    for setup in ("ours", "stock"):
        for failure in _get(results, setup, "throughput", "failures") or []:
            print(f"  {setup}: failed task {failure['id']} on {failure['serial']}: {failure['remark']}")
        for error in (results.get(setup, {}).get("http_5xx") or [])[:5]:
            print(f"  {setup}: 5xx: {error}")


def print_burst(results: dict) -> None:
    burst = results["burst"]
    print(f"\nburst: {burst['tasks']} tasks in one request on {burst['phones']} phones"
          f" ({burst['task_seconds_on_phone']}-s tasks)")
    for key in ("create_s", "wall_s", "tasks_per_min", "completed", "failed", "crashed", "unfinished"):
        print(f"  {key:<14} {burst[key]}")
    for remark, count in burst["failure_remarks"].items():
        print(f"  failed x{count}: {remark}")
    print(f"  HTTP 5xx       {len(results['http_5xx'])}")
    for error in results["http_5xx"][:10]:
        print(f"  5xx: {error}")


def print_pcs(results: dict) -> None:
    """--pcs: each figure of the farm of several PCs; the stock column says why it was not run."""
    run = results["ours"].get("pcs", {})
    stock = results.get("stock", {}).get("not_run", "-")
    cap = run.get("cap")
    rows = [
        ("worker PCs x phones", f"{run.get('pcs')} x {run.get('phones', 0) // max(1, run.get('pcs') or 1)}", ""),
        (f"{run.get('task_seconds')}-s tasks completed", run.get("completed"), str(run.get("tasks"))),
        ("crashed, failed or unfinished", _sum(results["ours"], "pcs"), "0"),
        ("wall time (least: rounds under the cap x task)", run.get("wall_s"), f">= {run.get('least_wall_s')} s"),
        ("most tasks at once on the phones (their markers)", run.get("most_at_once_on_phones"), f"<= {cap}"),
        # A run's process outlives its slot by its exit (the slot goes with its final state): not the cap's measure.
        ("flow-run processes at once, ending ones too (sampled)", run.get("most_flow_run_processes_sampled"), ""),
        ("Prefect server's CPU per run", run.get("prefect_server_cpu_s_per_run"), "<= 0.3 CPU-s"),
        ("Prefect server's cores while running", run.get("prefect_server_cores"), ""),
        ("... per running phone", run.get("prefect_server_cores_per_running_phone"), ""),
        ("... idle, every phone attached, no task", _get(run, "idle", "cores", "prefect_server"), ""),
        ("PostgreSQL's CPU per run", run.get("postgresql_cpu_s_per_run"), ""),
        ("PostgreSQL connections, most at once", run.get("most_postgresql_connections"), "<= 100 (max_connections)"),
        ("events stored per run", run.get("events_per_run"), ""),
    ]
    rows += [(f"{name}: PSS, largest sample", mb, "") for name, mb in (run.get("memory_per_pc_pss_mb") or {}).items()]
    rows.append(("HTTP 5xx from the API", len(results["ours"].get("http_5xx", [])), "0"))
    print(f"\n{'measure':<50} {'ours':>10}  target")
    for label, value, target in rows:
        print(f"{label:<50} {_show(value) if not isinstance(value, str) else value:>10}  {target}")
    print(f"\nstock: {stock}")
    for remark, count in (run.get("failure_remarks") or {}).items():
        print(f"  failed x{count}: {remark}")
