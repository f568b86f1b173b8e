"""Simulated upload flow: gallery picker, edit screen with sound and volume, caption, publishing banner."""

from __future__ import annotations

import posixpath
import time
import urllib.parse

from simulator.display import BACK_BUTTON, Node, Screen, label, open_screen, platform_of, row
from simulator.media import kind_of

_POST_BUTTON = {"tiktok": "Post", "instagram": "Share"}
_CAPTION_HINT = {"tiktok": "Describe your post", "instagram": "Write a caption..."}
_ADD_SOUND = {"tiktok": "Add sound", "instagram": "Add audio"}
_USE_SOUND = {"tiktok": "Use this sound", "instagram": "Use audio"}
_PUBLISHED_TEXT = {"tiktok": "Your post is published", "instagram": "Your reel has been shared"}
_SLIDER_LEFT, _SLIDER_RIGHT = 100, 980


def _new_draft(media: list[str] | None = None, sound: str | None = None) -> dict:
    return {"media": list(media or []), "sound": sound, "sound_at": time.monotonic(), "placement": "post",
            "origin_volume": None, "added_volume": None}


def _gallery(phone, screen: Screen) -> list[Node]:
    selected = screen.draft["media"]
    nodes = [Node(text="Recents", class_name="android.widget.TextView", bounds=(40, 110, 500, 210)),
             Node(content_desc="Close", class_name="android.widget.ImageView", clickable=True,
                  bounds=(960, 110, 1060, 210), action=("back",))]
    for index, (_media_id, path) in enumerate(phone.media_store.newest_first()[:12]):
        left, top = 40 + (index % 3) * 340, 300 + (index // 3) * 340
        kind = "Video" if kind_of(path) == "video" else "Photo"
        number = f", selected {selected.index(path) + 1}" if path in selected else ""
        nodes.append(Node(content_desc=f"{kind} {index + 1}{number}", class_name="android.widget.ImageView",
                          clickable=True, bounds=(left, top, left + 320, top + 320), action=("toggle_media", path)))
    if selected:
        next_label = label(phone, screen, "Next")
        nodes.append(Node(text=f"{next_label} ({len(selected)})" if len(selected) > 1 else next_label,
                          class_name="android.widget.Button", clickable=True, bounds=(760, 2250, 1060, 2370),
                          action=("to_edit",)))
    return nodes


def _edit(phone, screen: Screen) -> list[Node]:
    platform, draft = platform_of(screen), screen.draft
    nodes = [BACK_BUTTON,
             Node(text=_ADD_SOUND[platform], class_name="android.widget.TextView", clickable=True,
                  bounds=(340, 110, 740, 210), action=("open_sound_picker",))]
    if draft["sound"]:
        loading = time.monotonic() - draft["sound_at"] < phone.sound_load_seconds
        nodes.append(Node(text="Loading sound" if loading else "♫ " + draft["sound"],
                          class_name="android.widget.TextView", bounds=(340, 220, 740, 280)))
    nodes.append(Node(text="Volume", content_desc="Volume", class_name="android.widget.TextView", clickable=True,
                      bounds=(960, 400, 1060, 500), action=("open_volume",)))
    if platform == "instagram":
        for index, tab in enumerate(("POST", "STORY", "REEL")):
            nodes.append(Node(text=tab, class_name="android.widget.TextView", clickable=True,
                              bounds=(300 + index * 180, 2120, 460 + index * 180, 2200),
                              action=("placement", tab.lower())))
    nodes.append(Node(text=label(phone, screen, "Next"), class_name="android.widget.Button", clickable=True,
                      bounds=(760, 2250, 1060, 2370), action=("to_caption",)))
    return nodes


def _sound_picker(phone, screen: Screen) -> list[Node]:
    nodes = [Node(text=screen.query or "Search sounds", class_name="android.widget.EditText", clickable=True,
                  focused=True, bounds=(40, 110, 900, 210), action=("focus",))]
    names = [screen.query, screen.query + " (remix)"] if screen.query else ["Trending beat", "Summer vibes"]
    for index, name in enumerate(names):
        nodes.append(Node(text=name, content_desc="Sound", class_name="android.widget.TextView", clickable=True,
                          bounds=row(300 + index * 140), action=("pick_sound", name)))
    return nodes


def _volume(phone, screen: Screen) -> list[Node]:
    return [
        Node(text="Original sound", class_name="android.widget.TextView", bounds=row(1400, 80)),
        Node(content_desc="Original sound", class_name="android.widget.SeekBar", clickable=True,
             bounds=(_SLIDER_LEFT, 1500, _SLIDER_RIGHT, 1560), action=("volume", "origin_volume")),
        Node(text="Added sound", class_name="android.widget.TextView", bounds=row(1600, 80)),
        Node(content_desc="Added sound", class_name="android.widget.SeekBar", clickable=True,
             bounds=(_SLIDER_LEFT, 1700, _SLIDER_RIGHT, 1760), action=("volume", "added_volume")),
        Node(text=label(phone, screen, "Done"), class_name="android.widget.TextView", clickable=True,
             bounds=(860, 1280, 1060, 1360),
             action=("back",)),
    ]


def _caption(phone, screen: Screen) -> list[Node]:
    platform = platform_of(screen)
    return [
        Node(text=screen.query or _CAPTION_HINT[platform], class_name="android.widget.EditText", clickable=True,
             focused=True, bounds=(40, 300, 1040, 700), action=("focus",)),
        Node(text=label(phone, screen, _POST_BUTTON[platform]), class_name="android.widget.Button", clickable=True,
             bounds=(560, 2250, 1040, 2370), action=("publish",)),
    ]


def _sound_page(phone, screen: Screen) -> list[Node]:
    platform = platform_of(screen)
    return [
        Node(text=screen.user or "", class_name="android.widget.TextView", bounds=row(400)),
        Node(text="Original sound", class_name="android.widget.TextView", bounds=row(540, 80)),
        Node(text=_USE_SOUND[platform], class_name="android.widget.Button", clickable=True,
             bounds=(200, 2200, 880, 2340), action=("use_sound", screen.user)),
    ]


def upload_banner(phone, screen: Screen) -> list[Node]:
    """Progress while an upload runs, then the published confirmation (the post is recorded then)."""
    upload = phone.pending_upload
    if upload is None or upload["package"] != screen.package:
        return []
    elapsed = time.monotonic() - upload["started"]
    if phone.upload_never_finishes or elapsed < phone.upload_seconds:
        percent = min(99, int(100 * elapsed / max(phone.upload_seconds, 0.01)))
        return [Node(text=f"Uploading {percent}%", class_name="android.widget.TextView", bounds=row(240, 80))]
    if not upload.get("recorded"):
        upload["recorded"] = True
        phone.record_publish(upload["post"])
    return [Node(text=_PUBLISHED_TEXT[platform_of(screen)], class_name="android.widget.TextView",
                 bounds=row(240, 80))]


def sound_from_url(url: str) -> str | None:
    parsed = urllib.parse.urlparse(url)
    path = urllib.parse.unquote(parsed.path).strip("/")
    if parsed.netloc.lower().endswith("tiktok.com") and path.startswith("music/"):
        return path[len("music/"):]
    if parsed.netloc.lower().endswith("instagram.com") and path.startswith("reels/audio/"):
        return path[len("reels/audio/"):]
    return None


def open_sound_page(phone, package: str, name: str) -> None:
    open_screen(phone, Screen(package=package, name="sound", user=name, previous=phone.screen))


def open_shared(phone, package: str, uris: list[str]) -> None:
    """What a SEND / SEND_MULTIPLE intent does: the edit screen with the shared media already chosen."""
    media = [path for path in (phone.media_store.path_for_uri(uri) for uri in uris) if path]
    open_screen(phone, Screen(package=package, name="edit" if media else "feed", draft=_new_draft(media)))


def _child(screen: Screen, name: str) -> Screen:
    return Screen(package=screen.package, name=name, previous=screen, draft=screen.draft)


def _open_gallery(phone, screen, action) -> None:
    phone.screen = Screen(package=screen.package, name="gallery", previous=screen, draft=_new_draft())


def _toggle_media(phone, screen, action) -> None:
    selected = screen.draft["media"]
    (selected.remove if action[1] in selected else selected.append)(action[1])


def _to_edit(phone, screen, action) -> None:
    phone.screen = _child(screen, "edit")


def _open_sound_picker(phone, screen, action) -> None:
    phone.screen = _child(screen, "sound_picker")


def _pick_sound(phone, screen, action) -> None:
    screen.draft.update(sound=action[1], sound_at=time.monotonic())
    phone.screen = screen.previous


def _open_volume(phone, screen, action) -> None:
    phone.screen = _child(screen, "volume")


def _placement(phone, screen, action) -> None:
    screen.draft["placement"] = action[1]


def _to_caption(phone, screen, action) -> None:
    phone.screen = _child(screen, "caption")


def _use_sound(phone, screen, action) -> None:
    phone.screen = Screen(package=screen.package, name="gallery", previous=screen,
                          draft=_new_draft(sound=action[1]))


def _publish(phone, screen, action) -> None:
    platform = platform_of(screen)
    draft = screen.draft
    post = {"platform": platform, "account": phone.logged_in[platform], "caption": screen.query,
            "media": [posixpath.basename(path) for path in draft["media"]],
            "placement": draft["placement"] if platform == "instagram" else None, "sound": draft["sound"],
            "origin_volume": draft["origin_volume"], "added_volume": draft["added_volume"]}
    phone.pending_upload = {"package": screen.package, "started": time.monotonic(), "post": post}
    phone.screen = Screen(package=screen.package, name="feed")


def _set_volume(phone, screen: Screen, action: tuple, x: int) -> None:
    """A slider is set by where it was hit, so its action also gets the x of the tap."""
    value = round(100 * (x - _SLIDER_LEFT) / (_SLIDER_RIGHT - _SLIDER_LEFT))
    screen.draft[action[1]] = max(0, min(100, value))


SCREENS = {"gallery": _gallery, "edit": _edit, "sound_picker": _sound_picker, "volume": _volume,
           "caption": _caption, "sound": _sound_page}

ACTIONS = {"open_gallery": _open_gallery, "toggle_media": _toggle_media, "to_edit": _to_edit,
           "open_sound_picker": _open_sound_picker, "pick_sound": _pick_sound, "open_volume": _open_volume,
           "placement": _placement, "to_caption": _to_caption, "use_sound": _use_sound, "publish": _publish,
           "open_sound": lambda phone, screen, action: open_sound_page(phone, screen.package, action[1])}
ACTIONS_AT_POINT = {"volume": _set_volume}
