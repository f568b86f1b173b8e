"""Simulated own-profile tab, account switcher sheet and the login screen of an expired session."""

from __future__ import annotations

from simulator.display import Node, Screen, label, open_screen, platform_of, row, view_id


def _me(phone, screen: Screen) -> list[Node]:
    active = phone.logged_in[platform_of(screen)]
    # The username in the header opens the switcher, as in both real apps.
    return [
        Node(text=active, content_desc="Switch account",
             resource_id=view_id(screen.package, "profile_header_username"),
             class_name="android.widget.TextView", clickable=True, bounds=(240, 110, 840, 210),
             action=("open_switcher",)),
        Node(text="Edit profile", class_name="android.widget.Button", clickable=True, bounds=(300, 900, 780, 1000)),
        Node(text=label(phone, screen, "Profile"), content_desc=label(phone, screen, "Profile"), class_name="android.widget.TextView", clickable=True,
             bounds=(864, 2250, 1080, 2400)),
    ]


def _switcher(phone, screen: Screen) -> list[Node]:
    platform = platform_of(screen)
    nodes = _me(phone, screen) + [
        Node(class_name="android.widget.FrameLayout", bounds=(0, 1200, 1080, 2400)),
        Node(text="Switch account", class_name="android.widget.TextView", bounds=row(1220, 100)),
    ]
    for index, name in enumerate(phone.accounts[platform]):
        nodes.append(Node(text=name, class_name="android.widget.TextView", clickable=True,
                          content_desc="Current account" if name == phone.logged_in[platform] else "",
                          bounds=row(1340 + index * 130), action=("switch_to", name)))
    nodes.append(Node(text="Add account", class_name="android.widget.TextView", clickable=True,
                      bounds=row(2240, 120)))
    return nodes


def _login(phone, screen: Screen) -> list[Node]:
    app = "TikTok" if platform_of(screen) == "tiktok" else "Instagram"
    return [
        Node(text=f"Log in to {app}", class_name="android.widget.TextView", bounds=row(400)),
        Node(text=screen.user or "", content_desc="Logged out account", class_name="android.widget.TextView",
             bounds=row(560)),
        Node(text="Your session has expired. Please log in again.", class_name="android.widget.TextView",
             bounds=row(700)),
        Node(text="Password", class_name="android.widget.EditText", clickable=True, bounds=row(900)),
        Node(text="Log in", class_name="android.widget.Button", clickable=True, bounds=row(1100)),
        Node(text="Switch account", class_name="android.widget.TextView", clickable=True, bounds=row(1300),
             action=("open_switcher",)),
    ]


def _open_me(phone, screen: Screen, action: tuple) -> None:
    phone.screen = Screen(package=screen.package, name="me", previous=screen)


def _open_switcher(phone, screen: Screen, action: tuple) -> None:
    phone.screen = Screen(package=screen.package, name="switcher", previous=screen)


def _switch_to(phone, screen: Screen, action: tuple) -> None:
    phone.logged_in[platform_of(screen)] = action[1]
    open_screen(phone, Screen(package=screen.package, name="me"))


SCREENS = {"me": _me, "switcher": _switcher, "login": _login}
ACTIONS = {"open_me": _open_me, "open_switcher": _open_switcher, "switch_to": _switch_to}
