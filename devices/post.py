"""The post script: put media in the camera roll, walk the app's upload flow, wait for "published"."""

from __future__ import annotations

import logging
import pathlib
import re
import time

import adbutils
from adbutils import AdbError

from devices import ui
from devices.accounts import launch_app, raise_if_logged_out
from devices.apps import APP_NAMES, installed_package
from devices.errors import DeviceError
from devices.keyboard import type_text
from devices.media import content_uri, mime_type, push_media, remove_media

POST_WAYS = ("share", "addButton", "useSound")
PLACEMENTS = ("reel", "story")
CREATE_LABELS = ("Create", "New post", "+")
ADD_SOUND_LABELS = ("Add sound", "Add audio")
USE_SOUND_LABELS = ("Use this sound", "Use audio")
POST_LABELS = {"tiktok": ("Post",), "instagram": ("Share",)}
PUBLISHED_LABELS = ("Your post is published", "Your video is posted", "Your reel has been shared",
                    "Your post has been shared", "Posted")
SOUND_PAGE_URL = {"tiktok": "https://www.tiktok.com/music/", "instagram": "https://www.instagram.com/reels/audio/"}
_TILE = re.compile(r"^(Video|Photo)\b")
_log = logging.getLogger(__name__)


def post_media(phone: adbutils.AdbDevice, *, platform: str, files: list[pathlib.Path], caption: str,
               content_type: int, post_way: str, add_sound: str, sound_name: str, custom_sound_keyword: str,
               origin_sound_volume: int, add_sound_volume: int, placement: str, upload_wait_time: int,
               sound_wait_time: int, timeout: float = 20.0, interval: float = 0.3) -> str:
    if not files:
        raise DeviceError("no media files to post")
    if post_way not in POST_WAYS:
        raise DeviceError(f"post way {post_way} is not supported (use share, addButton or useSound)")
    if post_way == "useSound" and not sound_name.strip():
        raise DeviceError("post way useSound needs a sound_name")
    add_sound = str(add_sound).strip()
    if add_sound == "custom" and not custom_sound_keyword.strip():
        raise DeviceError('add_sound "custom" needs a custom_sound_keyword')
    if platform == "instagram" and placement not in PLACEMENTS:
        raise DeviceError(f"placement {placement} is not supported (use reel or story)")
    package = installed_package(phone, platform)
    flow = _Flow(phone, timeout, interval)

    pushed: list[str] = []
    try:
        push_media(phone, [pathlib.Path(path) for path in files], pushed)
        if post_way == "share":
            _share(phone, package, [content_uri(phone, remote) for remote in pushed],
                   "video/*" if all(mime_type(remote).startswith("video/") for remote in pushed) else "image/*")
        else:
            if post_way == "useSound":
                _open_sound_page(phone, flow, platform, package, sound_name.strip())
                flow.tap(USE_SOUND_LABELS, "no Use this sound button on the sound page")
            else:
                launch_app(phone, package)
                flow.tap(CREATE_LABELS, "no create (+) button on the app's home screen")
            _pick_from_gallery(phone, flow, len(files))
        flow.wait(lambda nodes: ui.find(nodes, *ADD_SOUND_LABELS), "the edit screen did not open")
        if platform == "instagram":
            flow.tap((placement.upper(),), f"no {placement.upper()} tab on the edit screen")
        sound_added = post_way == "useSound"
        if add_sound in ("1", "custom"):
            _pick_sound(phone, flow, custom_sound_keyword.strip() if add_sound == "custom" else "")
            sound_added = True
        if sound_added:
            _wait_for_sound(phone, flow, sound_wait_time)
            _set_volumes(phone, flow, origin_sound_volume, add_sound_volume)
        flow.tap(("Next",), "no Next button on the edit screen")
        field = flow.wait(lambda nodes: next((node for node in nodes if node.is_text_field), None),
                          "no caption box on the post screen")
        ui.tap(phone, field)
        type_text(phone, caption)
        flow.tap(POST_LABELS[platform], f"no {POST_LABELS[platform][0]} button on the post screen")
        _wait_until_published(phone, upload_wait_time, interval)
    finally:
        try:
            remove_media(phone, pushed)
        except (AdbError, ConnectionError, OSError, EOFError, DeviceError) as error:
            # The task's own outcome matters more; a leftover file is only logged.
            _log.warning("could not remove pushed media %s from %s: %s", pushed, phone.serial, error)
    kind = "video" if content_type == 0 else f"{len(files)} image(s)"
    where = f" as a {placement}" if platform == "instagram" else ""
    return f"published {kind} on {APP_NAMES[platform]}{where}"


class _Flow:
    """Waiting and tapping that notices an expired session on every screen read."""

    def __init__(self, phone: adbutils.AdbDevice, timeout: float, interval: float):
        self.phone, self.timeout, self.interval = phone, timeout, interval

    def wait(self, predicate, what: str, timeout: float | None = None):
        def checked(nodes: list[ui.UiNode]):
            raise_if_logged_out(self.phone, nodes)
            return predicate(nodes)

        return ui.wait_for(self.phone, checked, timeout=self.timeout if timeout is None else timeout,
                           interval=self.interval, what=what)

    def tap(self, labels: tuple[str, ...], what: str) -> None:
        node = self.wait(lambda nodes: ui.find([node for node in nodes if node.clickable], *labels,
                                               include_text_fields=False), what)
        ui.tap(self.phone, node)


def _share(phone: adbutils.AdbDevice, package: str, uris: list[str], mime: str) -> None:
    if len(uris) == 1:
        command = ["am", "start", "-a", "android.intent.action.SEND", "-t", mime,
                   "--eu", "android.intent.extra.STREAM", uris[0], "-p", package]
    else:
        command = ["am", "start", "-a", "android.intent.action.SEND_MULTIPLE", "-t", mime,
                   "--eua", "android.intent.extra.STREAM", ",".join(uris), "-p", package]
    output = phone.shell(command, timeout=30)
    if "Error" in output:
        raise DeviceError(f"could not share the media to the app: {output.strip().splitlines()[-1]}")


def _open_sound_page(phone: adbutils.AdbDevice, flow: _Flow, platform: str, package: str, sound: str) -> None:
    if sound.startswith(("http://", "https://")):
        output = phone.shell(["am", "start", "-a", "android.intent.action.VIEW", "-d", sound, "-p", package])
        if "Error" in output:
            raise DeviceError(f"could not open the sound {sound}: {output.strip().splitlines()[-1]}")
        return
    # A name, not a link: find it through the app's search.
    launch_app(phone, package)
    flow.tap(("Search", "Search and explore"), "no Search button on the app's home screen")
    field = flow.wait(lambda nodes: next((node for node in nodes if node.is_text_field), None),
                      "no search box on the search screen")
    ui.tap(phone, field)
    type_text(phone, sound)
    row = flow.wait(lambda nodes: next((node for node in nodes if node.clickable and node.content_desc == "Sound"
                                        and node.text.casefold() == sound.casefold()), None),
                    f"no sound named {sound} in the search results")
    ui.tap(phone, row)


def _pick_from_gallery(phone: adbutils.AdbDevice, flow: _Flow, count: int) -> None:
    tiles = flow.wait(lambda nodes: [node for node in nodes if node.clickable and _TILE.match(node.content_desc)]
                      or None, "the gallery shows no media")
    if len(tiles) < count:
        raise DeviceError(f"the gallery shows {len(tiles)} item(s) but {count} were pushed")
    # Newest first: the files just pushed and scanned are the first tiles.
    for tile in tiles[:count]:
        ui.tap(phone, tile)
    flow.tap(("Next", f"Next ({count})"), "no Next button in the gallery")


def _pick_sound(phone: adbutils.AdbDevice, flow: _Flow, keyword: str) -> None:
    flow.tap(ADD_SOUND_LABELS, "no Add sound button on the edit screen")
    if keyword:
        field = flow.wait(lambda nodes: next((node for node in nodes if node.is_text_field), None),
                          "no search box on the sound picker")
        ui.tap(phone, field)
        type_text(phone, keyword)
    row = flow.wait(lambda nodes: next((node for node in nodes if node.clickable and node.content_desc == "Sound"
                                        and (not keyword or node.text.casefold() == keyword.casefold())), None),
                    f"no sound found for {keyword!r}" if keyword else "no sound offered in the sound picker")
    ui.tap(phone, row)


def _wait_for_sound(phone: adbutils.AdbDevice, flow: _Flow, sound_wait_time: int) -> None:
    flow.wait(lambda nodes: None if ui.find(nodes, "Loading sound") else nodes,
              f"the sound did not load within {sound_wait_time} s", timeout=max(sound_wait_time, 1))


def _set_volumes(phone: adbutils.AdbDevice, flow: _Flow, origin: int, added: int) -> None:
    flow.tap(("Volume",), "no Volume button on the edit screen")
    for label, value in (("Original sound", origin), ("Added sound", added)):
        slider = flow.wait(lambda nodes: next((node for node in nodes if node.content_desc == label
                                               and node.class_name.endswith("SeekBar")), None),
                           f"no {label} volume slider")
        left, top, right, bottom = slider.bounds
        x = left + round((right - left) * max(0, min(100, int(value))) / 100)
        phone.shell(["input", "tap", str(min(x, right - 1)), str((top + bottom) // 2)])
    flow.tap(("Done",), "no Done button on the volume sheet")


def _wait_until_published(phone: adbutils.AdbDevice, upload_wait_time: int, interval: float) -> None:
    deadline = time.monotonic() + upload_wait_time
    while True:
        nodes = ui.read_screen(phone)
        if ui.find(nodes, *PUBLISHED_LABELS, include_text_fields=False):
            return
        if time.monotonic() >= deadline:
            progress = next((node.text for node in nodes if node.text.startswith("Uploading")), "")
            raise DeviceError(f"upload did not finish within {upload_wait_time} s"
                              + (f" (the app still shows {progress})" if progress else ""))
        time.sleep(interval)
