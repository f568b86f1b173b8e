"""Which app package drives each platform, and which of them a phone has installed."""

from __future__ import annotations

import adbutils

from devices.errors import DeviceError

PACKAGES = {
    "tiktok": ("com.zhiliaoapp.musically", "com.ss.android.ugc.trill"),
    "instagram": ("com.instagram.android",),
}
APP_NAMES = {"tiktok": "TikTok", "instagram": "Instagram"}


def installed_package(phone: adbutils.AdbDevice, platform: str) -> str:
    candidates = PACKAGES.get(platform)
    if candidates is None:
        raise DeviceError(f"platform {platform} is not supported")
    listing = phone.shell(["pm", "list", "packages"], timeout=30)
    installed = {line.strip()[len("package:"):] for line in listing.splitlines() if line.startswith("package:")}
    for package in candidates:
        if package in installed:
            return package
    raise DeviceError(f"{APP_NAMES[platform]} app is not installed on phone {phone.serial}")
