"""The follow / unfollow script: open a profile (by URL or through search) and flip its Follow button."""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass

import adbutils

from devices import ui
from devices.apps import installed_package
from devices.errors import DeviceError
from devices.keyboard import type_text

FOLLOWING_LABELS = ("Following", "Requested")
NOT_FOLLOWING_LABELS = ("Follow", "Follow back")


@dataclass(frozen=True)
class PlatformUi:
    profile_url: str
    search_entry_labels: tuple[str, ...]
    missing_account_text: str
    no_results_text: str = "No results found"


PLATFORMS = {
    "tiktok": PlatformUi(profile_url="https://www.tiktok.com/@{user}",
                         search_entry_labels=("Search",),
                         missing_account_text="Couldn't find this account"),
    "instagram": PlatformUi(profile_url="https://www.instagram.com/{user}/",
                            search_entry_labels=("Search and explore", "Search"),
                            missing_account_text="Sorry, this page isn't available."),
}


def follow_user(phone: adbutils.AdbDevice, *, platform: str, target: str, access_method: str,
                unfollow: bool, load_timeout: float = 30.0, interval: float = 0.3) -> str:
    user = target.strip().removeprefix("@")
    if not user:
        raise DeviceError("no target user given")
    if platform not in PLATFORMS:
        raise DeviceError(f"platform {platform} is not supported")
    platform_ui = PLATFORMS[platform]
    package = installed_package(phone, platform)

    if access_method == "direct":
        _open_profile_by_url(phone, platform_ui, package, user)
    elif access_method == "search":
        _open_profile_by_search(phone, platform_ui, package, user, load_timeout, interval)
    else:
        raise DeviceError(f"access method {access_method} is not supported (use direct or search)")

    button = _wait_for_profile(phone, platform_ui, user, load_timeout, interval)
    already = button.text in (NOT_FOLLOWING_LABELS if unfollow else FOLLOWING_LABELS)
    if already:
        return f"already not following @{user}" if unfollow else f"already following @{user}"
    ui.tap(phone, button)
    _confirm_result(phone, user, unfollow, interval)
    return f"unfollowed @{user}" if unfollow else f"now following @{user}"


def _open_profile_by_url(phone: adbutils.AdbDevice, platform_ui: PlatformUi, package: str, user: str) -> None:
    # Percent-encoding keeps a hostile name one path segment; the list form keeps it one shell word.
    url = platform_ui.profile_url.format(user=urllib.parse.quote(user, safe="._-"))
    output = phone.shell(["am", "start", "-a", "android.intent.action.VIEW", "-d", url, "-p", package])
    if "Error" in output:
        raise DeviceError(f"could not open the profile of @{user}: {output.strip().splitlines()[-1]}")


def _open_profile_by_search(phone: adbutils.AdbDevice, platform_ui: PlatformUi, package: str, user: str,
                            timeout: float, interval: float) -> None:
    phone.shell(["monkey", "-p", package, "-c", "android.intent.category.LAUNCHER", "1"])
    entry = ui.wait_for(phone, lambda nodes: ui.find(nodes, *platform_ui.search_entry_labels),
                        timeout=timeout, interval=interval, what="no Search button on the app's home screen")
    ui.tap(phone, entry)
    field = ui.wait_for(phone, lambda nodes: next((node for node in nodes if node.is_text_field), None),
                        timeout=timeout, interval=interval, what="no search box on the search screen")
    ui.tap(phone, field)
    type_text(phone, user)

    def result_or_missing(nodes: list[ui.UiNode]):
        if ui.find(nodes, platform_ui.no_results_text):
            return "missing"
        return ui.find(nodes, user, include_text_fields=False)

    result = ui.wait_for(phone, result_or_missing, timeout=timeout, interval=interval,
                         what=f"no search result for @{user}")
    if result == "missing":
        raise DeviceError(f"target user @{user} does not exist")
    ui.tap(phone, result)


def _wait_for_profile(phone: adbutils.AdbDevice, platform_ui: PlatformUi, user: str,
                      timeout: float, interval: float) -> ui.UiNode:
    # A profile can sit on a loading spinner for a while; only a Follow button or the
    # "account missing" text counts as loaded.
    def loaded(nodes: list[ui.UiNode]):
        if ui.find(nodes, platform_ui.missing_account_text):
            return "missing"
        return _follow_button(nodes)

    found = ui.wait_for(phone, loaded, timeout=timeout, interval=interval,
                        what=f"no Follow button on the profile of @{user}")
    if found == "missing":
        raise DeviceError(f"target user @{user} does not exist")
    return found


def _follow_button(nodes: list[ui.UiNode]) -> ui.UiNode | None:
    return ui.find([node for node in nodes if node.clickable], *FOLLOWING_LABELS, *NOT_FOLLOWING_LABELS,
                   include_text_fields=False)


def _confirm_result(phone: adbutils.AdbDevice, user: str, unfollow: bool, interval: float,
                    timeout: float = 5.0) -> None:
    wanted = NOT_FOLLOWING_LABELS if unfollow else FOLLOWING_LABELS
    deadline = time.monotonic() + timeout
    last_label = "nothing"
    while True:
        nodes = ui.read_screen(phone)
        confirm = ui.find(nodes, "Unfollow", include_text_fields=False) if unfollow else None
        if confirm is not None and confirm.clickable:
            ui.tap(phone, confirm)  # the app asked "Unfollow?" first
        else:
            button = _follow_button(nodes)
            last_label = button.text if button else "nothing"
            if button is not None and button.text in wanted:
                return
        if time.monotonic() >= deadline:
            action = "Following" if unfollow else "Follow"
            raise DeviceError(f"tapped {action} on the profile of @{user} but the button still reads {last_label}")
        time.sleep(interval)
