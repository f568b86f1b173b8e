"""Simulated video feeds (For You, Reels, search results) with like/follow/bookmark/comment buttons."""

from __future__ import annotations

from simulator import post_ui
from simulator.display import BACK_BUTTON, Node, Screen, label, platform_of, row, view_id

# Screens that play video: uiautomator never sees them idle.
_VIDEO_SCREENS = {"tiktok": {"feed", "results", "post"}, "instagram": {"reels", "results", "post"}}
_VIDEO_DESC = {"tiktok": "Video", "instagram": "Reel by {creator}. Double tap to play or pause."}
_BOOKMARK = {"tiktok": ("Add to Favorites", "Remove from Favorites"), "instagram": ("Save", "Remove from saved")}


def is_video_screen(screen: Screen) -> bool:
    return screen.package is not None and screen.name in _VIDEO_SCREENS[platform_of(screen)]


def current_video(screen: Screen) -> tuple[str, str]:
    """(creator, video id) of what a feed (or a post opened by its URL) shows now."""
    if screen.name == "post":
        return post_ui.creator_of(screen.user), screen.user
    prefix = "topic_" if screen.name == "results" else ""
    creator = f"{prefix}creator_{screen.video + 42}"
    return creator, f"{creator}/video{screen.video}"


def video_nodes(phone, screen: Screen) -> list[Node]:
    p, platform = screen.package, platform_of(screen)
    creator, video = current_video(screen)
    account = phone.logged_in[platform]
    liked = phone.has_engaged(platform, account, "like", video)
    saved = phone.has_engaged(platform, account, "bookmark", video)
    nodes = [
        # The video surface, as the real apps describe it (TikTok 43.1.4 and Instagram captures).
        Node(resource_id=view_id(p, "long_press_layout"), class_name="android.widget.FrameLayout",
             content_desc=_VIDEO_DESC[platform].format(creator=creator), bounds=(0, 0, 1080, 2200)),
        Node(text="@" + creator, class_name="android.widget.TextView", bounds=(40, 1900, 700, 1960)),
    ]
    if not phone.is_following(platform, creator):
        # TikTok shows a "+" on the avatar; Instagram a Follow text button next to the name.
        follow = label(phone, screen, "Follow")
        nodes.append(Node(text="" if platform == "tiktok" else follow, content_desc=follow,
                          class_name="android.widget.Button", clickable=True,
                          bounds=(960, 900, 1040, 980) if platform == "tiktok" else (720, 1890, 900, 1970),
                          action=("follow_creator", creator)))
    nodes += [
        Node(content_desc="Liked" if liked else label(phone, screen, "Like"), class_name="android.widget.ImageView", clickable=True,
             bounds=(960, 1100, 1060, 1200), action=("engage", "like", video)),
        Node(content_desc=label(phone, screen, "Comment"), class_name="android.widget.ImageView", clickable=True,
             bounds=(960, 1250, 1060, 1350), action=("open_comments",)),
        Node(content_desc=_BOOKMARK[platform][1 if saved else 0], class_name="android.widget.ImageView",
             clickable=True, bounds=(960, 1400, 1060, 1500), action=("engage", "bookmark", video)),
    ]
    return nodes


def _reels(phone, screen: Screen) -> list[Node]:
    p = screen.package
    return video_nodes(phone, screen) + [
        Node(text="Reels", class_name="android.widget.TextView", bounds=(40, 110, 400, 210)),
        Node(resource_id=view_id(p, "feed_tab"), content_desc="Home", class_name="android.widget.FrameLayout",
             clickable=True, bounds=(0, 2250, 216, 2400), action=("back",)),
    ]


def _results(phone, screen: Screen) -> list[Node]:
    return video_nodes(phone, screen) + [
        BACK_BUTTON,
        Node(text=screen.user or "", class_name="android.widget.TextView", bounds=(140, 110, 860, 210)),
    ]


def _post(phone, screen: Screen) -> list[Node]:
    return post_ui.missing_nodes(phone, screen) or video_nodes(phone, screen) + [BACK_BUTTON]


def _comments(phone, screen: Screen) -> list[Node]:
    platform = platform_of(screen)
    placeholder = label(phone, screen, "Add comment...") if platform == "tiktok" else "Add a comment..."
    _creator, video = current_video(screen.previous) if screen.previous else ("", "")
    posted = phone.comments_on(platform, video)
    nodes = [
        Node(class_name="android.widget.FrameLayout", bounds=(0, 800, 1080, 2400)),
        Node(text="Comments", class_name="android.widget.TextView", bounds=row(820, 100)),
        *(Node(text=text, class_name="android.widget.TextView", bounds=row(960 + 110 * i, 100))
          for i, text in enumerate(posted[-10:])),
        Node(text=screen.query or placeholder, class_name="android.widget.EditText", clickable=True,
             focused=True, bounds=(40, 2250, 760, 2370), action=("focus",)),
        Node(text=label(phone, screen, "Post"), class_name="android.widget.TextView", clickable=True, bounds=(900, 2250, 1060, 2370),
             action=("post_comment",)),
    ]
    if platform == "tiktok":
        attached = " (1 attached)" if screen.draft else ""
        nodes.append(Node(content_desc="Add image", text=attached.strip(), class_name="android.widget.ImageView",
                          clickable=True, bounds=(780, 2250, 880, 2370), action=("open_comment_gallery",)))
    return nodes


def search_extras(phone, screen: Screen) -> list[Node]:
    """Once a query is typed: the videos tab (topic search) and a sound row (useSound by name)."""
    tab = "Videos" if platform_of(screen) == "tiktok" else "Reels"
    return [
        Node(text=tab, class_name="android.widget.TextView", clickable=True, bounds=(300, 230, 540, 290),
             action=("open_results", screen.query)),
        Node(text=screen.query, content_desc="Sound", class_name="android.widget.TextView", clickable=True,
             bounds=row(460), action=("open_sound", screen.query)),
    ]


def swipe(phone, x1: int, y1: int, x2: int, y2: int) -> None:
    screen = phone.screen
    if phone.interruption or phone.blocking:
        return  # the dialog takes the gesture
    if is_video_screen(screen) and y1 - y2 > 300:
        platform = platform_of(screen)
        creator, _video = current_video(screen)
        phone.record_watched(platform, phone.logged_in[platform], creator)
        screen.video += 1
        screen.paused = False  # the next video starts playing


def _open_reels(phone, screen: Screen, action: tuple) -> None:
    phone.screen = Screen(package=screen.package, name="reels", previous=screen)


def _open_results(phone, screen: Screen, action: tuple) -> None:
    phone.searched_topics.append(action[1])
    phone.screen = Screen(package=screen.package, name="results", user=action[1], previous=screen)


def _follow_creator(phone, screen: Screen, action: tuple) -> None:
    platform = platform_of(screen)
    phone.set_following(platform, action[1], True)
    phone.record_engagement(platform, phone.logged_in[platform], "follow", action[1])


def _engage(phone, screen: Screen, action: tuple) -> None:
    platform = platform_of(screen)
    phone.record_engagement(platform, phone.logged_in[platform], action[1], action[2])


def _open_comments(phone, screen: Screen, action: tuple) -> None:
    phone.screen = Screen(package=screen.package, name="comments", previous=screen)


def _post_comment(phone, screen: Screen, action: tuple) -> None:
    if screen.query and screen.previous is not None:
        platform = platform_of(screen)
        _creator, video = current_video(screen.previous)
        account = phone.logged_in[platform]
        phone.record_engagement(platform, account, "comment", video, screen.query)
        if screen.draft:
            phone.record_engagement(platform, account, "comment_image", video, screen.draft["image"])
        screen.query, screen.draft = "", None


SCREENS = {"reels": _reels, "results": _results, "post": _post, "comments": _comments, **post_ui.SCREENS}

ACTIONS = {"open_reels": _open_reels, "open_results": _open_results, "follow_creator": _follow_creator,
           "engage": _engage, "open_comments": _open_comments, "post_comment": _post_comment, **post_ui.ACTIONS}
