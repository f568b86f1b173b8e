"""`python -m api`: run the phone farm (see README for the options)."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from api.supervision.launcher import run
from api.supervision.migration import migrate_to_postgresql
from api.supervision.processes import StartupFailed
from api.settings import Settings


def parse_args(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    parser.add_argument("--role", choices=["all", "worker"],
                        help="all: the whole farm on this PC (all); worker: only this PC's phones and worker, "
                             "on the Prefect server of the API's PC (PHONEFARM_PREFECT_API_URL, _AUTH_STRING)")
    parser.add_argument("--pc-name", help="this PC's name in the farm (the host name)")
    parser.add_argument("--host", help="address the API listens on (127.0.0.1)")
    parser.add_argument("--port", type=int, help="API port (50809)")
    parser.add_argument("--data-dir", help="where the index, Prefect's database and logs live (./data)")
    parser.add_argument("--simulate", type=int, help="start N simulated phones (0)")
    parser.add_argument("--simulate-locale", help="language of the simulated apps: en, pl or ja (en)")
    parser.add_argument("--simulate-interruptions", type=float, metavar="RATE",
                        help="probability 0-1 that a dialog covers a simulated screen when it changes (0)")
    parser.add_argument("--simulate-seed", type=int, help="seed of the simulated interruptions (20261204)")
    parser.add_argument("--simulate-quirks", action="store_true",
                        help="simulated phones behave like real ones: no UI dump while a video plays, slow first dumps")
    parser.add_argument("--simulate-app-version", choices=["43.1.4", "35.1.3"],
                        help="simulated TikTok build; their resource-ids differ (43.1.4)")
    parser.add_argument("--prefect-port", type=int, help="port of the Prefect server started here (4200)")
    parser.add_argument("--prefect-host", help="address that Prefect server listens on (127.0.0.1; worker PCs "
                                               "need one they reach: it always requires its auth string)")
    parser.add_argument("--adb-port", type=int, help="adb server to use, or start if none answers (5037)")
    parser.add_argument("--plan", help="Starter, Pro, Team or Business (Pro)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"],
                        help="Prefect's database: a SQLite file, or a PostgreSQL server started here (sqlite)")
    parser.add_argument("--migrate-to-postgresql", action="store_true",
                        help="move this stopped farm's Prefect database from SQLite to the PostgreSQL server "
                             "`--database postgresql` starts (every run keeps its id), then exit")
    args = vars(parser.parse_args(argv))
    return {key: value for key, value in args.items() if value is not None and value is not False}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    options = parse_args(argv)
    migrate = options.pop("migrate_to_postgresql", False)
    try:
        settings = Settings(**options)
    except ValidationError as error:
        # Without the input values: one of them may be the API token.
        for problem in error.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            print(f"invalid settings: {where}: {problem['msg']}", file=sys.stderr)
        return 2
    try:
        if migrate:
            copied = migrate_to_postgresql(settings)
            print(f"moved {sum(copied.values())} rows ({copied.get('flow_run', 0)} flow runs) to PostgreSQL; start the "
                  f"farm with --database postgresql", flush=True)
        else:
            run(settings)
    except StartupFailed as error:
        print(f"start-up failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
