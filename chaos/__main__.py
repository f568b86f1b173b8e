"""./run chaos [--minutes N] [--seed S] [--database sqlite|postgresql] [--pcs K] [--phones N]: a farm under workload and faults, then the verdict."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from chaos.run import chaos_run, summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--phones", type=int, default=6, help="phones on each PC")
    parser.add_argument("--pcs", type=int, default=0, help="worker PCs beside the API's own PC (PostgreSQL only)")
    parser.add_argument("--report", type=Path, help="where the JSON report goes (default: chaos-<seed>.json here)")
    parser.add_argument("--keep-data", action="store_true", help="keep the farm's data dir (logs) afterwards")
    args = parser.parse_args(argv)
    if args.pcs < 0 or (args.pcs and args.database != "postgresql"):
        parser.error("--pcs needs --database postgresql: worker PCs share the API PC's Prefect server on it")
    root = Path(tempfile.mkdtemp(prefix="phonefarm-chaos-"))
    root.chmod(0o711)  # PostgreSQL's own user passes through to its cluster
    try:
        report = chaos_run(args.minutes, args.seed, args.database, args.phones, root, pcs=args.pcs,
                           keep_data=root / "farm-kept" if args.keep_data else None)
    finally:
        if not args.keep_data:
            shutil.rmtree(root, ignore_errors=True)
    path = args.report or Path(f"chaos-{args.seed}.json")
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(summary(report))
    print(f"report: {path}" + (f"; data: {root}" if args.keep_data else ""))
    return 1 if report["violations"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
