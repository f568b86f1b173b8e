"""Simulated home screens, user search and profiles with their Follow button, for TikTok and Instagram."""

from __future__ import annotations

import time

from simulator import feed_ui, upload_ui
from simulator.display import BACK_BUTTON, Node, Screen, label, open_screen, platform_of, row, view_id


def open_profile(phone, package: str, user: str) -> None:
    open_screen(phone, Screen(package=package, name="profile", user=user, previous=phone.screen))


def _tiktok_feed(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return feed_ui.video_nodes(phone, screen) + [
        Node(text="For You", class_name="android.widget.TextView", clickable=True, bounds=(420, 120, 660, 200)),
        Node(resource_id=view_id(p, "irz"), class_name="android.widget.ImageView", content_desc=label(phone, screen, "Search"),
             clickable=True, bounds=(960, 110, 1060, 210), action=("open_search",)),
        Node(text=label(phone, screen, "Home"), class_name="android.widget.TextView", clickable=True,
             bounds=(0, 2250, 216, 2400)),
        Node(content_desc=label(phone, screen, "Create"), class_name="android.widget.ImageView", clickable=True,
             bounds=(432, 2250, 648, 2400), action=("open_gallery",)),
        Node(text=label(phone, screen, "Profile"), class_name="android.widget.TextView", clickable=True,
             bounds=(864, 2250, 1080, 2400),
             action=("open_me",)),
    ] + upload_ui.upload_banner(phone, screen)


def _instagram_feed(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return [
        Node(text="Instagram", class_name="android.widget.TextView", bounds=(40, 110, 400, 210)),
        Node(content_desc="Create", class_name="android.widget.ImageView", clickable=True,
             bounds=(860, 110, 960, 210), action=("open_gallery",)),
        Node(resource_id=view_id(p, "feed_tab"), content_desc="Home", class_name="android.widget.FrameLayout",
             clickable=True, bounds=(0, 2250, 216, 2400)),
        Node(resource_id=view_id(p, "search_tab"), content_desc="Search and explore",
             class_name="android.widget.FrameLayout", clickable=True, bounds=(216, 2250, 432, 2400),
             action=("open_search",)),
        Node(resource_id=view_id(p, "clips_tab"), content_desc="Reels", class_name="android.widget.FrameLayout",
             clickable=True, bounds=(648, 2250, 864, 2400), action=("open_reels",)),
        Node(resource_id=view_id(p, "profile_tab"), content_desc="Profile", class_name="android.widget.FrameLayout",
             clickable=True, bounds=(864, 2250, 1080, 2400), action=("open_me",)),
    ] + upload_ui.upload_banner(phone, screen)


def _search(phone, screen: Screen, *, edit_id: str, result_id: str) -> list[Node]:
    p = screen.package
    nodes = [
        Node(resource_id=view_id(p, edit_id), class_name="android.widget.EditText",
             text=screen.query or label(phone, screen, "Search"), focused=True, clickable=True,
             bounds=(140, 110, 860, 210), action=("focus",)),
        Node(text=label(phone, screen, "Search"), class_name="android.widget.TextView", clickable=True,
             bounds=(880, 110, 1060, 210), action=("submit",)),
    ]
    if screen.query:
        if phone.user_exists(screen.query):
            nodes.append(Node(text=screen.query, resource_id=view_id(p, result_id),
                              class_name="android.widget.TextView", clickable=True,
                              bounds=row(300), action=("open_profile", screen.query)))
        else:
            nodes.append(Node(text="No results found", class_name="android.widget.TextView", bounds=row(300)))
        nodes += feed_ui.search_extras(phone, screen)
    return nodes


def _tiktok_search(phone, screen: Screen) -> list[Node]:
    return _search(phone, screen, edit_id="et_search_kw", result_id="user_name")


def _instagram_search(phone, screen: Screen) -> list[Node]:
    return _search(phone, screen, edit_id="action_bar_search_edit_text", result_id="row_search_user_username")


def _profile(phone, screen: Screen, *, missing_lines: tuple[str, str], header: list[Node],
             follow_id: str) -> list[Node]:
    if time.monotonic() - screen.opened_at < phone.profile_load_seconds:
        return [Node(text="Loading", class_name="android.widget.ProgressBar", bounds=(490, 1150, 590, 1250))]
    if not phone.user_exists(screen.user):
        return [Node(text=line, class_name="android.widget.TextView", bounds=row(1000 + 130 * index))
                for index, line in enumerate(missing_lines)]
    following = phone.is_following(platform_of(screen), screen.user)
    return [BACK_BUTTON, *header,
            Node(text=label(phone, screen, "Following" if following else "Follow"), resource_id=follow_id,
                 class_name="android.widget.Button", clickable=True, bounds=(300, 900, 780, 1000),
                 action=("follow_button",))]


def _tiktok_profile(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return _profile(phone, screen, follow_id=view_id(p, "eg1"),
                    missing_lines=("Couldn't find this account",
                                   "This account may have been banned or the username is incorrect."),
                    header=[Node(text="@" + str(screen.user), resource_id=view_id(p, "qh5"),
                                 class_name="android.widget.TextView", bounds=row(600, 80)),
                            Node(text="Followers", class_name="android.widget.TextView", bounds=(400, 720, 680, 780))])


def _instagram_profile(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return _profile(phone, screen, follow_id=view_id(p, "profile_header_follow_button"),
                    missing_lines=("Sorry, this page isn't available.",
                                   "The link you followed may be broken, or the page may have been removed."),
                    header=[Node(text=str(screen.user), resource_id=view_id(p, "action_bar_title"),
                                 class_name="android.widget.TextView", bounds=(140, 110, 800, 210))])


def _instagram_unfollow_sheet(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return _instagram_profile(phone, screen) + [
        Node(class_name="android.widget.FrameLayout", resource_id=view_id(p, "bottom_sheet_container"),
             bounds=(0, 1600, 1080, 2400)),
        Node(text=screen.user, class_name="android.widget.TextView", bounds=row(1650, 100)),
        Node(text="Unfollow", resource_id=view_id(p, "follow_sheet_unfollow_row"),
             class_name="android.widget.TextView", clickable=True, bounds=row(2100, 140),
             action=("confirm_unfollow",)),
    ]


def _open_search(phone, screen: Screen, action: tuple) -> None:
    phone.screen = Screen(package=screen.package, name="search", previous=screen)


def _open_search_result(phone, screen: Screen, action: tuple) -> None:
    open_profile(phone, screen.package, action[1])


def _follow_button(phone, screen: Screen, action: tuple) -> None:
    platform = platform_of(screen)
    if not phone.is_following(platform, screen.user):
        phone.set_following(platform, screen.user, True)
    elif platform == "instagram":
        # Instagram asks before unfollowing; TikTok unfollows on the spot.
        phone.screen = Screen(package=screen.package, name="unfollow_sheet", user=screen.user,
                              opened_at=screen.opened_at, previous=screen)
    else:
        phone.set_following(platform, screen.user, False)


def _confirm_unfollow(phone, screen: Screen, action: tuple) -> None:
    phone.set_following(platform_of(screen), screen.user, False)
    phone.screen = screen.previous  # the profile the sheet covers


SCREENS = {"tiktok": {"feed": _tiktok_feed, "search": _tiktok_search, "profile": _tiktok_profile},
           "instagram": {"feed": _instagram_feed, "search": _instagram_search, "profile": _instagram_profile,
                         "unfollow_sheet": _instagram_unfollow_sheet}}
ACTIONS = {"open_search": _open_search, "open_profile": _open_search_result, "follow_button": _follow_button,
           "confirm_unfollow": _confirm_unfollow}
