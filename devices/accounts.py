"""Which accounts each app has logged in, read from its account switcher, and switching between them."""

from __future__ import annotations

from devices import ui
from devices.adb import AdbServer, open_phone
from devices.errors import AccountNotLoggedIn, PhoneDisconnected
from devices.phone import ADB_FAILURES, Phone
from devices.platforms import ADD_ACCOUNT, PLATFORMS, PROFILE_TAB, SWITCHER_TITLE, Platform, platform_named
from devices.screen import Screen, logged_out, logged_out_user


def read_accounts(server: AdbServer, serial: str) -> list[tuple[str, str]]:
    """(platform, username) for every account on every installed app of the phone."""
    phone = Phone(open_phone(server, serial))
    try:
        installed = phone.installed_packages()
        accounts = []
        for platform in PLATFORMS.values():
            if installed.intersection(platform.packages):
                accounts += [(platform.name, name) for name in logged_in_accounts(phone, platform.name)]
        return accounts
    except ADB_FAILURES as error:
        raise PhoneDisconnected(f"phone {serial} disconnected while reading accounts: "
                                f"{error or type(error).__name__}") from error


def logged_in_accounts(phone: Phone, platform: str, *, timeout: float = 20.0, interval: float = 0.3) -> list[str]:
    screen = Screen(phone, timeout=timeout, interval=interval, watch_logged_out=False)
    switcher = _open_switcher(screen, platform_named(platform))
    phone.back()  # leave the sheet closed for whatever runs next
    return [node.text for node in _switcher_rows(switcher)]


def switch_account(phone: Phone, platform: str, username: str, *, timeout: float = 20.0,
                   interval: float = 0.3) -> None:
    user = username.strip().removeprefix("@")
    # The login screen of an expired active account still offers the switcher, so it must not stop us here.
    screen = Screen(phone, timeout=timeout, interval=interval, watch_logged_out=False)
    switcher = _open_switcher(screen, platform_named(platform), wanted=user)
    if switcher is None:
        return  # already the active account
    row = next((node for node in _switcher_rows(switcher) if node.text.casefold() == user.casefold()), None)
    if row is None:
        phone.back()
        raise AccountNotLoggedIn(f"account @{user} is not logged in on phone {phone.serial}")
    screen.tap_node(row)

    def switched(nodes: list[ui.UiNode]) -> ui.UiNode | None:
        if logged_out_user(nodes) is not None:
            raise logged_out(phone, user)
        header = _profile_header(nodes)
        return header if header is not None and header.text.casefold() == user.casefold() else None

    screen.wait(switched, f"the profile of @{user} did not appear after switching")


def _open_switcher(screen: Screen, platform: Platform, *, wanted: str | None = None) -> list[ui.UiNode] | None:
    """The nodes of the open account switcher; None when `wanted` is the active account already."""
    phone = screen.phone
    phone.start_app(phone.installed_package(platform))
    start = screen.wait(_home_or_login, "no Profile tab on the app's home screen")
    expired = logged_out_user(start)
    if expired is not None:
        if wanted is not None and expired.casefold() == wanted.casefold():
            raise logged_out(phone, wanted)
        switch = ui.find(start, SWITCHER_TITLE, include_text_fields=False)
        if switch is None:  # a login screen with no way to another account
            raise logged_out(phone, expired or "?")
        screen.tap_node(switch)
    else:
        screen.tap_node(_profile_tab(start))
        header = screen.wait(_profile_header, "no username header on the profile tab")
        if wanted is not None and header.text.casefold() == wanted.casefold():
            return None
        screen.tap_node(header)
    return screen.wait(ui.showing(ADD_ACCOUNT), "the account switcher did not open")


def _home_or_login(nodes: list[ui.UiNode]) -> list[ui.UiNode] | None:
    return nodes if logged_out_user(nodes) is not None or _profile_tab(nodes) is not None else None


def _profile_tab(nodes: list[ui.UiNode]) -> ui.UiNode | None:
    return ui.button(PROFILE_TAB)(nodes)


def _profile_header(nodes: list[ui.UiNode]) -> ui.UiNode | None:
    # The username at the top of the own profile opens the switcher; its text is the active account.
    return next((node for node in nodes if node.clickable and node.content_desc == SWITCHER_TITLE), None)


def _switcher_rows(nodes: list[ui.UiNode]) -> list[ui.UiNode]:
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
