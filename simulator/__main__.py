"""`python -m simulator --count N --adb-port P`: run a farm of simulated phones until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from simulator.adb_host import AdbServer, SimulatorError
from simulator.farm import SimulatedFarm


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
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    try:
        # auto_reconnect re-adopts the phones if the adb server restarts and forgets them.
        farm = SimulatedFarm(AdbServer(args.adb_host, args.adb_port), args.count,
                             serial_prefix=args.serial_prefix, auto_reconnect=True, first_port=args.first_port)
    except SimulatorError as error:
        print(f"error: {error.remark}", file=sys.stderr)
        return 1
    for phone in farm.phones.values():
        phone.profile_load_seconds = args.profile_load_seconds
    try:
        for serial in farm.serials:
            print(serial, flush=True)
        stop.wait()
    finally:
        farm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
