"""TikTok and Instagram screens as uiautomator nodes, and what taps, typing and BACK do to them."""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

TIKTOK = "com.zhiliaoapp.musically"
TIKTOK_TRILL = "com.ss.android.ugc.trill"
INSTAGRAM = "com.instagram.android"
PLATFORM_BY_PACKAGE = {TIKTOK: "tiktok", TIKTOK_TRILL: "tiktok", INSTAGRAM: "instagram"}
LAUNCHER = "com.google.android.apps.nexuslauncher"
SCREEN_WIDTH, SCREEN_HEIGHT = 1080, 2400


@dataclass
class Screen:
    """What is on the display: an app's named screen, or the launcher when package is None."""

    package: str | None = None
    name: str = "launcher"
    query: str = ""
    user: str | None = None
    opened_at: float = field(default_factory=time.monotonic)
    previous: "Screen | None" = None
    # Shared by every screen of one upload flow (selected media, sound, placement, volumes).
    draft: dict | None = None
    video: int = 0  # index of the video a feed is showing
    plain_dump_failed: bool = False  # a playing feed fails the first non-compressed dump


@dataclass(frozen=True)
class Node:
    text: str = ""
    resource_id: str = ""
    class_name: str = "android.view.View"
    content_desc: str = ""
    clickable: bool = False
    focused: bool = False
    bounds: tuple[int, int, int, int] = (0, 0, SCREEN_WIDTH, SCREEN_HEIGHT)
    # What a tap does, interpreted by tap(): e.g. ("open_search",) or ("open_profile", "bob").
    action: tuple = ()

    def contains(self, x: int, y: int) -> bool:
        left, top, right, bottom = self.bounds
        return left <= x < right and top <= y < bottom


def _rid(package: str, name: str) -> str:
    return f"{package}:id/{name}"


def _row(top: int, height: int = 120) -> tuple[int, int, int, int]:
    return (40, top, SCREEN_WIDTH - 40, top + height)


def profile_user_from_url(url: str) -> tuple[str, str] | None:
    """('tiktok'|'instagram', username) for a profile URL, else None."""
    parsed = urllib.parse.urlparse(url)
    host = parsed.netloc.lower()
    path = urllib.parse.unquote(parsed.path)
    if host.endswith("tiktok.com") and path.startswith("/@"):
        return "tiktok", path[2:].rstrip("/")
    if host.endswith("instagram.com") and len(path.strip("/")) > 0:
        return "instagram", path.strip("/")
    return None


# ---------------------------------------------------------------- rendering

def render(phone) -> list[Node]:
    """The nodes on screen right now (uiautomator order: parents before children)."""
    screen = phone.screen
    if screen.package is None:
        return [Node(class_name="android.widget.FrameLayout"),
                Node(text="Phone", content_desc="Phone", clickable=True, bounds=(60, 2000, 260, 2200)),
                Node(text="Chrome", content_desc="Chrome", clickable=True, bounds=(300, 2000, 500, 2200))]
    platform = PLATFORM_BY_PACKAGE[screen.package]
    renderer = _TIKTOK_SCREENS if platform == "tiktok" else _INSTAGRAM_SCREENS
    body = renderer[screen.name](phone, screen)
    return [Node(class_name="android.widget.FrameLayout")] + body


def _tiktok_feed(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return feed_ui.video_nodes(phone, screen) + [
        Node(text="For You", class_name="android.widget.TextView", clickable=True, bounds=(420, 120, 660, 200)),
        Node(resource_id=_rid(p, "ht4"), class_name="android.widget.ImageView", content_desc="Search",
             clickable=True, bounds=(960, 110, 1060, 210), action=("open_search",)),
        Node(text="Home", class_name="android.widget.TextView", clickable=True, bounds=(0, 2250, 216, 2400)),
        Node(content_desc="Create", class_name="android.widget.ImageView", clickable=True,
             bounds=(432, 2250, 648, 2400), action=("open_gallery",)),
        Node(text="Profile", class_name="android.widget.TextView", clickable=True, bounds=(864, 2250, 1080, 2400),
             action=("open_me",)),
    ] + upload_ui.upload_banner(phone, screen)


def _search_screen(phone, screen: Screen, *, edit_id: str, result_id: str) -> list[Node]:
    p = screen.package
    nodes = [
        Node(resource_id=_rid(p, edit_id), class_name="android.widget.EditText",
             text=screen.query or "Search", focused=True, clickable=True,
             bounds=(140, 110, 860, 210), action=("focus",)),
        Node(text="Search", class_name="android.widget.TextView", clickable=True,
             bounds=(880, 110, 1060, 210), action=("submit",)),
    ]
    if screen.query:
        if phone.user_exists(screen.query):
            nodes.append(Node(text=screen.query, resource_id=_rid(p, result_id),
                              class_name="android.widget.TextView", clickable=True,
                              bounds=_row(300), action=("open_profile", screen.query)))
        else:
            nodes.append(Node(text="No results found", class_name="android.widget.TextView",
                              bounds=_row(300)))
        nodes += feed_ui.search_extras(phone, screen)
    return nodes


def _tiktok_search(phone, screen: Screen) -> list[Node]:
    return _search_screen(phone, screen, edit_id="et_search_kw", result_id="user_name")


def _loading(screen: Screen) -> list[Node]:
    return [Node(text="Loading", class_name="android.widget.ProgressBar", bounds=(490, 1150, 590, 1250))]


def _profile_is_loading(phone, screen: Screen) -> bool:
    return time.monotonic() - screen.opened_at < phone.profile_load_seconds


def _follow_button(phone, screen: Screen, resource_id: str) -> Node:
    following = phone.is_following(PLATFORM_BY_PACKAGE[screen.package], screen.user)
    return Node(text="Following" if following else "Follow", resource_id=resource_id,
                class_name="android.widget.Button", clickable=True,
                bounds=(300, 900, 780, 1000), action=("follow_button",))


def _tiktok_profile(phone, screen: Screen) -> list[Node]:
    p = screen.package
    if _profile_is_loading(phone, screen):
        return _loading(screen)
    if not phone.user_exists(screen.user):
        return [Node(text="Couldn't find this account", class_name="android.widget.TextView",
                     bounds=_row(1000)),
                Node(text="This account may have been banned or the username is incorrect.",
                     class_name="android.widget.TextView", bounds=_row(1130))]
    return [
        Node(content_desc="Back", class_name="android.widget.ImageView", clickable=True,
             bounds=(20, 110, 120, 210), action=("back",)),
        Node(text="@" + screen.user, resource_id=_rid(p, "qh5"), class_name="android.widget.TextView",
             bounds=_row(600, 80)),
        Node(text="Followers", class_name="android.widget.TextView", bounds=(400, 720, 680, 780)),
        _follow_button(phone, screen, _rid(p, "eg1")),
    ]


def _instagram_feed(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return [
        Node(text="Instagram", class_name="android.widget.TextView", bounds=(40, 110, 400, 210)),
        Node(content_desc="Create", class_name="android.widget.ImageView", clickable=True,
             bounds=(860, 110, 960, 210), action=("open_gallery",)),
        Node(resource_id=_rid(p, "feed_tab"), content_desc="Home", class_name="android.widget.FrameLayout",
             clickable=True, bounds=(0, 2250, 216, 2400)),
        Node(resource_id=_rid(p, "search_tab"), content_desc="Search and explore",
             class_name="android.widget.FrameLayout", clickable=True, bounds=(216, 2250, 432, 2400),
             action=("open_search",)),
        Node(resource_id=_rid(p, "clips_tab"), content_desc="Reels", class_name="android.widget.FrameLayout",
             clickable=True, bounds=(648, 2250, 864, 2400), action=("open_reels",)),
        Node(resource_id=_rid(p, "profile_tab"), content_desc="Profile", class_name="android.widget.FrameLayout",
             clickable=True, bounds=(864, 2250, 1080, 2400), action=("open_me",)),
    ] + upload_ui.upload_banner(phone, screen)


def _instagram_search(phone, screen: Screen) -> list[Node]:
    return _search_screen(phone, screen, edit_id="action_bar_search_edit_text",
                          result_id="row_search_user_username")


def _instagram_profile(phone, screen: Screen) -> list[Node]:
    p = screen.package
    if _profile_is_loading(phone, screen):
        return _loading(screen)
    if not phone.user_exists(screen.user):
        return [Node(text="Sorry, this page isn't available.", class_name="android.widget.TextView",
                     bounds=_row(1000)),
                Node(text="The link you followed may be broken, or the page may have been removed.",
                     class_name="android.widget.TextView", bounds=_row(1130))]
    return [
        Node(content_desc="Back", class_name="android.widget.ImageView", clickable=True,
             bounds=(20, 110, 120, 210), action=("back",)),
        Node(text=screen.user, resource_id=_rid(p, "action_bar_title"), class_name="android.widget.TextView",
             bounds=(140, 110, 800, 210)),
        _follow_button(phone, screen, _rid(p, "profile_header_follow_button")),
    ]


def _instagram_unfollow_sheet(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return _instagram_profile(phone, screen) + [
        Node(class_name="android.widget.FrameLayout", resource_id=_rid(p, "bottom_sheet_container"),
             bounds=(0, 1600, 1080, 2400)),
        Node(text=screen.user, class_name="android.widget.TextView", bounds=_row(1650, 100)),
        Node(text="Unfollow", resource_id=_rid(p, "follow_sheet_unfollow_row"),
             class_name="android.widget.TextView", clickable=True, bounds=_row(2100, 140),
             action=("confirm_unfollow",)),
    ]


_TIKTOK_SCREENS = {"feed": _tiktok_feed, "search": _tiktok_search, "profile": _tiktok_profile}
_INSTAGRAM_SCREENS = {"feed": _instagram_feed, "search": _instagram_search, "profile": _instagram_profile,
                      "unfollow_sheet": _instagram_unfollow_sheet}


def to_xml(nodes: list[Node], package: str | None) -> str:
    """uiautomator's dump format: the first node is the root, the rest are its children."""
    package = package or LAUNCHER

    def attributes(index: int, node: Node) -> str:
        left, top, right, bottom = node.bounds
        values = [("index", str(index)), ("text", node.text), ("resource-id", node.resource_id),
                  ("class", node.class_name), ("package", package), ("content-desc", node.content_desc),
                  ("checkable", "false"), ("checked", "false"), ("clickable", _bool(node.clickable)),
                  ("enabled", "true"), ("focusable", _bool(node.clickable)), ("focused", _bool(node.focused)),
                  ("scrollable", "false"), ("long-clickable", "false"), ("password", "false"),
                  ("selected", "false"), ("bounds", f"[{left},{top}][{right},{bottom}]")]
        return " ".join(f"{name}={quoteattr(value)}" for name, value in values)

    root, children = nodes[0], nodes[1:]
    inner = "".join(f"<node {attributes(i, child)} />" for i, child in enumerate(children))
    return ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
            f'<hierarchy rotation="0"><node {attributes(0, root)}>{inner}</node></hierarchy>')


def _bool(value: bool) -> str:
    return "true" if value else "false"


# ---------------------------------------------------------------- input

def launch(phone, package: str) -> None:
    phone.screen = Screen(package=package, name="feed")
    accounts_ui.show_login_if_expired(phone)


def open_profile(phone, package: str, user: str) -> None:
    phone.screen = Screen(package=package, name="profile", user=user, previous=phone.screen)


def tap(phone, x: int, y: int) -> Node | None:
    """Hit-test the topmost clickable node and perform its action; returns the node tapped."""
    for node in reversed(render(phone)):
        if node.clickable and node.contains(x, y):
            if node.action[:1] == ("volume",):
                upload_ui.tap_slider(phone, phone.screen, node.action, x)  # a slider needs where it was hit
            else:
                _perform(phone, node.action)
            return node
    return None


def _perform(phone, action: tuple) -> None:
    screen = phone.screen
    if not action:
        return
    kind = action[0]
    if kind == "open_search":
        phone.screen = Screen(package=screen.package, name="search", previous=screen)
    elif kind == "open_profile":
        open_profile(phone, screen.package, action[1])
    elif kind == "back":
        press_back(phone)
    elif kind == "follow_button":
        platform = PLATFORM_BY_PACKAGE[screen.package]
        if not phone.is_following(platform, screen.user):
            phone.set_following(platform, screen.user, True)
        elif platform == "instagram":
            # Instagram asks before unfollowing; TikTok unfollows on the spot.
            phone.screen = Screen(package=screen.package, name="unfollow_sheet", user=screen.user,
                                  opened_at=screen.opened_at, previous=screen.previous)
        else:
            phone.set_following(platform, screen.user, False)
    elif kind in EXTRA_ACTIONS:
        EXTRA_ACTIONS[kind](phone, screen, action)
    elif kind == "confirm_unfollow":
        phone.set_following(PLATFORM_BY_PACKAGE[screen.package], screen.user, False)
        phone.screen = Screen(package=screen.package, name="profile", user=screen.user,
                              opened_at=screen.opened_at, previous=screen.previous)


def type_text(phone, text: str) -> None:
    """Typing only lands in a focused search box; anywhere else it is dropped, as on a phone."""
    if phone.screen.name in TEXT_SCREENS:
        phone.screen.query += text


def press_back(phone) -> None:
    screen = phone.screen
    if screen.name == "unfollow_sheet":
        phone.screen = Screen(package=screen.package, name="profile", user=screen.user,
                              opened_at=screen.opened_at, previous=screen.previous)
    elif screen.previous is not None:
        phone.screen = screen.previous
    else:
        phone.screen = Screen()


def delete_character(phone) -> None:
    if phone.screen.name in TEXT_SCREENS:
        phone.screen.query = phone.screen.query[:-1]


# ---------------------------------------------------------------- the other app areas

# Screens where `input text` lands in a text box (kept in Screen.query).
TEXT_SCREENS = {"search", "comments", "caption", "sound_picker"}
EXTRA_ACTIONS: dict = {}

from devices.simulator import accounts_ui, feed_ui, upload_ui  # noqa: E402  (they build on Node and Screen)

for _module in (accounts_ui, feed_ui, upload_ui):
    _TIKTOK_SCREENS.update(_module.screens("tiktok"))
    _INSTAGRAM_SCREENS.update(_module.screens("instagram"))
    EXTRA_ACTIONS.update(_module.ACTIONS)
