"""A single post opened by its URL (TikTok video, Instagram post or reel) and the photo picker of a TikTok comment."""

from __future__ import annotations

import urllib.parse

from simulator.display import BACK_BUTTON, Node, Screen, open_screen, platform_of, row
from simulator.media import kind_of

_MISSING = {"tiktok": "Video currently unavailable", "instagram": "Sorry, this page isn't available."}


def missing_nodes(phone, screen: Screen) -> list[Node] | None:
    """What a post URL shows for a deleted post, or None when the post is there."""
    if screen.user.rsplit("/", 1)[-1] not in phone.missing_posts:
        return None
    return [BACK_BUTTON, Node(text=_MISSING[platform_of(screen)], class_name="android.widget.TextView",
                              bounds=row(1100))]


def post_from_url(url: str) -> tuple[str, str] | None:
    """('tiktok'|'instagram', the post's key: the URL's path) for a post URL, else None."""
    parsed = urllib.parse.urlparse(url)
    host, path = parsed.netloc.lower(), urllib.parse.unquote(parsed.path).strip("/")
    parts = path.split("/")
    if host == "vm.tiktok.com" and len(parts) == 1 and parts[0]:
        return "tiktok", path
    if host.endswith("tiktok.com") and len(parts) == 3 and parts[0].startswith("@") and parts[1] == "video":
        return "tiktok", path
    if host.endswith("instagram.com") and len(parts) == 2 and parts[0] in ("p", "reel"):
        return "instagram", path
    return None


def creator_of(key: str) -> str:
    first = key.split("/", 1)[0]
    return first[1:] if first.startswith("@") else f"creator_of_{key.rsplit('/', 1)[-1]}"


def open_post(phone, package: str, key: str) -> None:
    open_screen(phone, Screen(package=package, name="post", user=key, previous=phone.screen))


def _comment_gallery(phone, screen: Screen) -> list[Node]:
    nodes = [Node(text="Recents", class_name="android.widget.TextView", bounds=(40, 110, 500, 210)), BACK_BUTTON]
    photos = [path for _id, path in phone.media_store.newest_first() if kind_of(path) == "images"][:12]
    for index, path in enumerate(photos):
        left, top = 40 + (index % 3) * 340, 300 + (index // 3) * 340
        nodes.append(Node(content_desc=f"Photo {index + 1}", class_name="android.widget.ImageView", clickable=True,
                          bounds=(left, top, left + 320, top + 320), action=("attach_image", path)))
    return nodes


def _open_comment_gallery(phone, screen: Screen, action: tuple) -> None:
    phone.screen = Screen(package=screen.package, name="comment_gallery", previous=screen)


def _attach_image(phone, screen: Screen, action: tuple) -> None:
    comments = screen.previous
    comments.draft = {"image": action[1]}
    phone.screen = comments


SCREENS = {"comment_gallery": _comment_gallery}
ACTIONS = {"open_comment_gallery": _open_comment_gallery, "attach_image": _attach_image}
