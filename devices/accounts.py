"""Which accounts each app has logged in, read from its account switcher, and switching between them."""

from __future__ import annotations

import adbutils

from devices import ui
from devices.adb import AdbServer, open_phone
from devices.apps import APP_NAMES, PACKAGES, installed_package
from devices.errors import DeviceError

SWITCHER_TITLE = "Switch account"
ADD_ACCOUNT = "Add account"
PROFILE_TAB = "Profile"
LOGGED_OUT_MARK = "Logged out account"  # content-desc of the username on the login screen


def launch_app(phone: adbutils.AdbDevice, package: str) -> None:
    phone.shell(["monkey", "-p", package, "-c", "android.intent.category.LAUNCHER", "1"])


def logged_out_user(nodes: list[ui.UiNode]) -> str | None:
    """The account a login screen asks a password for, or None when this is not a login screen."""
    if ui.find(nodes, "Log in", include_text_fields=False) is None:
        return None
    marker = next((node for node in nodes if node.content_desc == LOGGED_OUT_MARK), None)
    return marker.text if marker else ""


def logged_out_error(phone: adbutils.AdbDevice, user: str) -> DeviceError:
    return DeviceError(f"account @{user} is logged out on phone {phone.serial} (its session expired; "
                       "log in again on the phone)")


def raise_if_logged_out(phone: adbutils.AdbDevice, nodes: list[ui.UiNode]) -> None:
    user = logged_out_user(nodes)
    if user is not None:
        raise logged_out_error(phone, user or "?")


def logged_in_accounts(phone: adbutils.AdbDevice, platform: str, *, timeout: float = 20.0,
                       interval: float = 0.3) -> list[str]:
    package = installed_package(phone, platform)
    _open_switcher(phone, package, timeout, interval)
    nodes = ui.read_screen(phone)
    names = _switcher_rows(nodes)
    phone.shell(["input", "keyevent", "KEYCODE_BACK"])  # leave the sheet closed for whatever runs next
    return names


def read_accounts(server: AdbServer, serial: str) -> list[tuple[str, str]]:
    """(platform, username) for every account on every installed app of the phone."""
    phone = open_phone(server, serial)
    try:
        listing = phone.shell(["pm", "list", "packages"], timeout=30)
        installed = {line.strip()[len("package:"):] for line in listing.splitlines()}
        accounts = []
        for platform in APP_NAMES:
            if any(package in installed for package in PACKAGES[platform]):
                accounts += [(platform, name) for name in logged_in_accounts(phone, platform)]
        return accounts
    except (adbutils.AdbError, ConnectionError, OSError, EOFError) as error:
        raise DeviceError(f"phone {serial} disconnected while reading accounts: {error or type(error).__name__}",
                          transient=True) from error


def switch_account(phone: adbutils.AdbDevice, platform: str, username: str, *, timeout: float = 20.0,
                   interval: float = 0.3) -> None:
    user = username.strip().removeprefix("@")
    package = installed_package(phone, platform)
    launch_app(phone, package)
    start = ui.wait_for(phone, lambda nodes: _home_or_login(nodes), timeout=timeout, interval=interval,
                        what="no Profile tab on the app's home screen")
    if start == "login":
        nodes = ui.read_screen(phone)
        if (logged_out_user(nodes) or "").casefold() == user.casefold():
            raise logged_out_error(phone, user)
        ui.tap(phone, ui.find(nodes, SWITCHER_TITLE, include_text_fields=False))
    else:
        ui.tap(phone, start)
        header = ui.wait_for(phone, _profile_header, timeout=timeout, interval=interval,
                             what="no username header on the profile tab")
        if header.text.casefold() == user.casefold():
            return  # already the active account
        ui.tap(phone, header)
    nodes = ui.wait_for(phone, lambda nodes: nodes if ui.find(nodes, ADD_ACCOUNT) else None,
                        timeout=timeout, interval=interval, what="the account switcher did not open")
    row = next((node for node in _switcher_nodes(nodes) if node.text.casefold() == user.casefold()), None)
    if row is None:
        phone.shell(["input", "keyevent", "KEYCODE_BACK"])
        raise DeviceError(f"account @{user} is not logged in on phone {phone.serial}")
    ui.tap(phone, row)

    def switched(nodes: list[ui.UiNode]):
        if logged_out_user(nodes) is not None:
            return "login"
        header = _profile_header(nodes)
        return "ok" if header is not None and header.text.casefold() == user.casefold() else None

    if ui.wait_for(phone, switched, timeout=timeout, interval=interval,
                   what=f"the profile of @{user} did not appear after switching") == "login":
        raise logged_out_error(phone, user)


def _home_or_login(nodes: list[ui.UiNode]):
    if logged_out_user(nodes) is not None:
        return "login"
    return ui.find([node for node in nodes if node.clickable], PROFILE_TAB, include_text_fields=False)


def _profile_header(nodes: list[ui.UiNode]) -> ui.UiNode | None:
    # The username at the top of the own profile opens the switcher; its text is the active account.
    return next((node for node in nodes if node.clickable and node.content_desc == SWITCHER_TITLE), None)


def _open_switcher(phone: adbutils.AdbDevice, package: str, timeout: float, interval: float) -> None:
    launch_app(phone, package)
    start = ui.wait_for(phone, _home_or_login, timeout=timeout, interval=interval,
                        what="no Profile tab on the app's home screen")
    if start == "login":
        ui.tap(phone, ui.find(ui.read_screen(phone), SWITCHER_TITLE, include_text_fields=False))
    else:
        ui.tap(phone, start)
        ui.tap(phone, ui.wait_for(phone, _profile_header, timeout=timeout, interval=interval,
                                  what="no username header on the profile tab"))
    ui.wait_for(phone, lambda nodes: ui.find(nodes, ADD_ACCOUNT), timeout=timeout, interval=interval,
                what="the account switcher did not open")


def _switcher_nodes(nodes: list[ui.UiNode]) -> list[ui.UiNode]:
    # Rows sit between the sheet's title and "Add account"; the profile behind the sheet comes before.
    titles = [index for index, node in enumerate(nodes) if node.text == SWITCHER_TITLE and not node.clickable]
    start = titles[-1] + 1 if titles else 0
    rows = []
    for node in nodes[start:]:
        if node.text == ADD_ACCOUNT:
            break
        if node.clickable and node.text:
            rows.append(node)
    return rows


def _switcher_rows(nodes: list[ui.UiNode]) -> list[str]:
    return [node.text for node in _switcher_nodes(nodes)]
