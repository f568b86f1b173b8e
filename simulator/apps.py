"""The simulated TikTok and Instagram as a whole: the screen now on display, and what taps, typing and BACK do."""

from __future__ import annotations

import urllib.parse

from simulator import accounts_ui, feed_ui, home_ui, interruptions, post_ui, upload_ui, versions
from simulator.display import INSTAGRAM, PLATFORM_BY_PACKAGE, TIKTOK, TIKTOK_TRILL, Node, Screen, open_screen, platform_of
from simulator.display import press_back as _screen_back

__all__ = ["INSTAGRAM", "PLATFORM_BY_PACKAGE", "TIKTOK", "TIKTOK_TRILL", "Screen", "delete_character", "launch",
           "open_link", "open_profile", "press_back", "render", "tap", "type_text"]

open_profile = home_ui.open_profile

_SHARED_SCREENS = {**accounts_ui.SCREENS, **feed_ui.SCREENS, **upload_ui.SCREENS}
_SCREENS = {platform: {**screens, **_SHARED_SCREENS} for platform, screens in home_ui.SCREENS.items()}
_LAUNCHER = [Node(class_name="android.widget.FrameLayout"),
             Node(text="Phone", content_desc="Phone", clickable=True, bounds=(60, 2000, 260, 2200)),
             Node(text="Chrome", content_desc="Chrome", clickable=True, bounds=(300, 2000, 500, 2200))]


def press_back(phone) -> None:
    """BACK closes a dismissable dialog and leaves the screen below as it was; a blocking one stays."""
    if phone.blocking:
        return
    if phone.interruption:
        phone.interruption = None
        return
    _screen_back(phone)


def _back(phone, screen: Screen, action: tuple) -> None:
    press_back(phone)


def _dismiss_interruption(phone, screen: Screen, action: tuple) -> None:
    phone.interruption = None


def _nothing(phone, screen: Screen, action: tuple) -> None:
    # Tapping a text box or its search key changes nothing here: typing lands in the box anyway.
    pass


_ACTIONS = {**home_ui.ACTIONS, **accounts_ui.ACTIONS, **feed_ui.ACTIONS, **upload_ui.ACTIONS,
            "back": _back, "focus": _nothing, "submit": _nothing,
            "dismiss_interruption": _dismiss_interruption, "ignore_interruption": _nothing}
# Screens where `input text` lands in a text box (kept in Screen.query).
_TEXT_SCREENS = {"search", "comments", "caption", "sound_picker"}


def render(phone) -> list[Node]:
    """The nodes on screen right now (uiautomator order: parents before children)."""
    screen = phone.screen
    if screen.package is None:
        return list(_LAUNCHER)
    body = _SCREENS[platform_of(screen)][screen.name](phone, screen)
    dialog = phone.blocking or phone.interruption
    if dialog:
        body += interruptions.nodes(dialog, screen.package, phone.locale)
    return versions.with_version_ids([Node(class_name="android.widget.FrameLayout")] + body, phone.app_version)


def _modal(phone) -> bool:
    return phone.screen.package is not None and bool(phone.blocking or phone.interruption)


def launch(phone, package: str) -> None:
    open_screen(phone, Screen(package=package, name="feed"))


def tap(phone, x: int, y: int) -> Node | None:
    """Hit-test the topmost clickable node and perform its action; returns the node tapped."""
    screen = phone.screen
    nodes = render(phone)
    if _modal(phone):
        # A dialog takes every tap: only its own buttons respond.
        nodes = nodes[-len(interruptions.nodes(phone.blocking or phone.interruption, screen.package, phone.locale)):]
    for node in reversed(nodes):
        if node.clickable and node.contains(x, y):
            kind = node.action[0] if node.action else None
            if kind in upload_ui.ACTIONS_AT_POINT:
                upload_ui.ACTIONS_AT_POINT[kind](phone, screen, node.action, x)
            elif kind:
                _ACTIONS[kind](phone, screen, node.action)
            return node
    if feed_ui.is_video_screen(screen) and not _modal(phone):
        screen.paused = not screen.paused  # a tap on the video itself pauses or resumes it
    return None


def type_text(phone, text: str) -> None:
    """Typing only lands in a focused text box; anywhere else it is dropped, as on a phone."""
    if phone.screen.name in _TEXT_SCREENS and not _modal(phone):
        phone.screen.query += text


def delete_character(phone) -> None:
    if phone.screen.name in _TEXT_SCREENS and not _modal(phone):
        phone.screen.query = phone.screen.query[:-1]


def open_link(phone, url: str, package: str) -> bool:
    """What a VIEW intent for `url` does (in `package` when given); False when no installed app takes it."""
    sound = upload_ui.sound_from_url(url)
    if sound and package:
        upload_ui.open_sound_page(phone, package, sound)
        return True
    post = post_ui.post_from_url(url)
    target = post or _profile_user_from_url(url)
    if target is None:
        return True  # a browser takes it; the apps do not change
    platform, user = target
    candidates = [name for name, owner in PLATFORM_BY_PACKAGE.items()
                  if owner == platform and name in phone.installed_packages]
    if package and package not in candidates:
        return False
    package = package or (candidates[0] if candidates else "")
    if not package:
        return False
    (post_ui.open_post if post else open_profile)(phone, package, user)
    return True


def _profile_user_from_url(url: str) -> tuple[str, str] | None:
    """('tiktok'|'instagram', username) for a profile URL, else None."""
    parsed = urllib.parse.urlparse(url)
    host = parsed.netloc.lower()
    path = urllib.parse.unquote(parsed.path)
    if host.endswith("tiktok.com") and path.startswith("/@"):
        return "tiktok", path[2:].rstrip("/")
    if host.endswith("instagram.com") and len(path.strip("/")) > 0:
        return "instagram", path.strip("/")
    return None
