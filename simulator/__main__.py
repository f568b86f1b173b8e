"""`python -m simulator --count N --adb-port P`: run a farm of simulated phones until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from simulator.adb_host import AdbServer, SimulatorError
from simulator import locales, versions
from simulator.farm import SimulatedFarm
from simulator.interruptions import DEFAULT_SEED
from simulator.replay import ReplayPhone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--count", type=int, default=3, help="number of phones")
    parser.add_argument("--adb-host", default="127.0.0.1")
    parser.add_argument("--adb-port", type=int, default=5037)
    parser.add_argument("--serial-prefix", default="sim")
    parser.add_argument("--first-port", type=int, default=None,
                        help="phone i listens on this port + i, so serials stay the same across restarts")
    parser.add_argument("--profile-load-seconds", type=float, default=0.0,
                        help="every profile shows 'Loading' this long, so a follow task takes about that long")
    parser.add_argument("--locale", default="en", choices=locales.LOCALES,
                        help="the language the simulated apps speak (real strings; English where unknown)")
    parser.add_argument("--simulate-interruptions", type=float, default=0.0, metavar="RATE",
                        help="probability (0-1) that a dismissable dialog covers a screen when it changes")
    parser.add_argument("--simulate-seed", type=int, default=DEFAULT_SEED,
                        help="seed of the interruptions, so a run replays")
    parser.add_argument("--simulate-app-version", default=versions.DEFAULT, choices=versions.VERSIONS,
                        help="simulated TikTok build; their resource-ids differ")
    parser.add_argument("--simulate-quirks", action="store_true",
                        help="real phones' quirks: no dump while a video plays until a tap pauses it; slow first dumps")
    parser.add_argument("--simulate-first-dump-seconds", type=float, default=2.0,
                        help="with --simulate-quirks: how long the first dump after a screen opens takes")
    parser.add_argument("--replay", type=Path, action="append", default=[], metavar="DIR",
                        help="one more phone that shows these recorded screens (docs/recorded-screens.md)")
    args = parser.parse_args(argv)
    if not 0 <= args.simulate_interruptions <= 1:
        parser.error("--simulate-interruptions must be between 0 and 1")
    quirks = {"video_blocks_dumps": True, "first_dump_seconds": args.simulate_first_dump_seconds} \
        if args.simulate_quirks else {}
    try:
        replayed = [ReplayPhone.from_path(path, name=f"{args.serial_prefix}replay{number}")
                    for number, path in enumerate(args.replay, start=1)]
    except (OSError, ValueError, ElementTree.ParseError) as error:
        print(f"error: cannot replay: {error}", file=sys.stderr)
        return 1

    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    try:
        # auto_reconnect re-adopts the phones if the adb server restarts and forgets them.
        farm = SimulatedFarm(AdbServer(args.adb_host, args.adb_port), args.count,
                             serial_prefix=args.serial_prefix, auto_reconnect=True, first_port=args.first_port,
                             locale=args.locale, interruption_rate=args.simulate_interruptions, seed=args.simulate_seed,
                             app_version=args.simulate_app_version, quirks=quirks)
    except SimulatorError as error:
        print(f"error: {error.remark}", file=sys.stderr)
        return 1
    for phone in farm.phones.values():
        phone.profile_load_seconds = args.profile_load_seconds
    try:
        for number, phone in enumerate(replayed):  # after the simulated phones, so theirs keep their ports
            farm.add_phone(phone, port=None if args.first_port is None else args.first_port + args.count + number)
        for serial in farm.serials:
            print(serial, flush=True)
        stop.wait()
    except SimulatorError as error:
        print(f"error: {error.remark}", file=sys.stderr)
        return 1
    finally:
        farm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
