"""`./run record SERIAL NAME`: saves a phone's current screen as a recorded screen (docs/recorded-screens.md)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from devices import ui
from devices.adb import AdbServer, open_phone
from devices.errors import DeviceError
from devices.inspect import inspect_xml
from devices.phone import ADB_FAILURES, Phone, phone_locale
from devices.screenshots import take_screenshot

PACKAGES = {"com.zhiliaoapp.musically": "tiktok", "com.ss.android.ugc.trill": "tiktok", "com.instagram.android": "instagram"}


def _foreground_package(phone: Phone, xml: str) -> Optional[str]:
    found = re.search(r'package="([^"]+)"', xml)
    return found.group(1) if found else None


def _version(phone: Phone, package: str) -> Optional[str]:
    found = re.search(r"versionName=(\S+)", phone.shell(["dumpsys", "package", package], timeout=30))
    return found.group(1) if found else None


def record(phone: Phone, folder: Path, note: str = "") -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    xml = ui.dump_xml(phone)
    (folder / "screen.xml").write_text(xml, encoding="utf-8")
    try:
        (folder / "screen.png").write_bytes(take_screenshot(phone))
    except DeviceError:
        pass  # the format allows a recording without a screenshot
    package = _foreground_package(phone, xml)
    app = PACKAGES.get(package or "")
    locale = phone_locale(phone)
    meta = {"format": 1, "app": app, "package": package, "version": _version(phone, package) if package else None,
            "locale": locale, "serial": phone.serial, "model": phone.shell(["getprop", "ro.product.model"], timeout=10).strip() or None,
            "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "screen": inspect_xml(xml, app, locale)["screen"] if app else None, "note": note}
    (folder / "screen.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return meta


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="./run record", description=__doc__)
    parser.add_argument("serial")
    parser.add_argument("name", type=Path, help="the folder to write (screen.xml, screen.png, screen.json)")
    parser.add_argument("--adb-port", type=int, default=int(os.environ.get("ANDROID_ADB_SERVER_PORT") or 5037))
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    try:
        phone = Phone(open_phone(AdbServer(port=args.adb_port), args.serial))
        meta = record(phone, args.name, args.note)
    except DeviceError as error:
        print(f"record: {error.remark}", file=sys.stderr)
        return 1
    except ADB_FAILURES as error:
        print(f"record: phone {args.serial}: {error or type(error).__name__}", file=sys.stderr)
        return 1
    print(json.dumps(meta, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
