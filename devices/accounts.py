"""Which accounts each app has logged in, read from its account switcher, and switching between them."""

from __future__ import annotations

from pathlib import Path

from devices import ui
from devices.adb import AdbServer, open_phone
from devices.errors import AccountNotLoggedIn, PhoneDisconnected
from devices.phone import ADB_FAILURES, Phone, phone_locale
from devices.platforms import PLATFORMS, Platform, platform_named
from devices.screen import Screen, logged_out
from devices.watcher import Watcher


def read_accounts(server: AdbServer, serial: str, selector_folders: tuple[Path, ...] = ()) -> list[tuple[str, str]]:
    """(platform, username) for every account on every installed app of the phone."""
    phone = Phone(open_phone(server, serial))
    try:
        installed = phone.installed_packages()
        locale = phone_locale(phone)
        accounts = []
        for platform in PLATFORMS.values():
            if installed.intersection(platform.packages):
                phone.watcher = Watcher.for_app(platform.name, locale, selector_folders)
                accounts += [(platform.name, name) for name in logged_in_accounts(phone, platform.name)]
        return accounts
    except ADB_FAILURES as error:
        raise PhoneDisconnected(f"phone {serial} disconnected while reading accounts: "
                                f"{error or type(error).__name__}") from error


def logged_in_accounts(phone: Phone, platform: str, *, timeout: float = 20.0, interval: float = 0.3) -> list[str]:
    screen = Screen.of_app(phone, platform, timeout=timeout, interval=interval, watch_logged_out=False)
    switcher = _open_switcher(screen, platform_named(platform))
    phone.back()  # leave the sheet closed for whatever runs next
    return [node.text for node in _switcher_rows(screen, switcher)]


def switch_account(phone: Phone, platform: str, username: str, *, timeout: float = 20.0,
                   interval: float = 0.3) -> None:
    user = username.strip().removeprefix("@")
    # The login screen of an expired active account still offers the switcher, so it must not stop us here.
    screen = Screen.of_app(phone, platform, timeout=timeout, interval=interval, watch_logged_out=False)
    switcher = _open_switcher(screen, platform_named(platform), wanted=user)
    if switcher is None:
        return  # already the active account
    row = next((node for node in _switcher_rows(screen, switcher) if node.text.casefold() == user.casefold()), None)
    if row is None:
        phone.back()
        raise AccountNotLoggedIn(f"account @{user} is not logged in on phone {phone.serial}")
    screen.tap_node(row)

    def switched(nodes: list[ui.UiNode]) -> ui.UiNode | None:
        if screen.logged_out_user(nodes) is not None:
            raise logged_out(phone, user)
        header = _profile_header(screen, nodes)
        return header if header is not None and header.text.casefold() == user.casefold() else None

    screen.wait(switched, f"the profile of @{user} did not appear after switching")


def _open_switcher(screen: Screen, platform: Platform, *, wanted: str | None = None) -> list[ui.UiNode] | None:
    """The nodes of the open account switcher; None when `wanted` is the active account already."""
    phone = screen.phone
    phone.start_app(phone.installed_package(platform))
    start = screen.wait(lambda nodes: _home_or_login(screen, nodes), "no Profile tab on the app's home screen")
    expired = screen.logged_out_user(start)
    if expired is not None:
        if wanted is not None and expired.casefold() == wanted.casefold():
            raise logged_out(phone, wanted)
        switch = screen.find(start, "switch_account", text_fields=False)
        if switch is None:  # a login screen with no way to another account
            raise logged_out(phone, expired or "?")
        screen.tap_node(switch.node)
    else:
        screen.tap_node(_profile_tab(screen, start))
        header = screen.wait(lambda nodes: _profile_header(screen, nodes), "no username header on the profile tab")
        if wanted is not None and header.text.casefold() == wanted.casefold():
            return None
        screen.tap_node(header)
    return screen.wait(screen.showing("add_account"), "the account switcher did not open")


def _home_or_login(screen: Screen, nodes: list[ui.UiNode]) -> list[ui.UiNode] | None:
    return nodes if screen.logged_out_user(nodes) is not None or _profile_tab(screen, nodes) is not None else None


def _profile_tab(screen: Screen, nodes: list[ui.UiNode]) -> ui.UiNode | None:
    found = screen.button("profile_tab")(nodes)
    return found.node if found else None


def _profile_header(screen: Screen, nodes: list[ui.UiNode]) -> ui.UiNode | None:
    # The username at the top of the own profile opens the switcher; its text is the active account.
    return next((match.node for match in screen.find_all(nodes, "switch_account", clickable=True)
                 if match.by == "desc"), None)


def _switcher_rows(screen: Screen, nodes: list[ui.UiNode]) -> list[ui.UiNode]:
    # Rows sit between the sheet's title and "Add account"; the profile behind the sheet comes before.
    titles = [index for index, node in enumerate(nodes)
              if not node.clickable and (match := screen.find([node], "switch_account")) and match.by == "text"]
    start = titles[-1] + 1 if titles else 0
    rows = []
    for node in nodes[start:]:
        if screen.find([node], "add_account"):
            break
        if node.clickable and node.text:
            rows.append(node)
    return rows
