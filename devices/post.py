"""The post script: put media in the camera roll, walk the app's upload flow, wait for "published"."""

from __future__ import annotations

import dataclasses
import logging
import pathlib

from contract.script_configs import PostConfig
from devices import ui
from devices.errors import DeviceError, InvalidScriptConfig, ScriptFailed
from devices.media import content_uri, mime_type, push_media, remove_media
from devices.phone import ADB_FAILURES, Phone
from devices.platforms import Platform, platform_named
from devices.screen import Screen
from devices.selectors import Match

_log = logging.getLogger(__name__)


def post_media(phone: Phone, config: PostConfig, *, platform: str, timeout: float = 20.0,
               interval: float = 0.3) -> str:
    """Post `config.files` (server paths the API chose) with the config's caption, sound and placement."""
    files = [pathlib.Path(path) for path in config.files]
    if not files:
        raise InvalidScriptConfig("no media files chosen for the post")
    post_way, placement = config.post_way, config.placement
    sound_name, custom_sound_keyword = config.sound_name.strip(), config.custom_sound_keyword.strip()
    # The model accepts blanks here; the app would search for nothing.
    if post_way == "useSound" and not sound_name:
        raise InvalidScriptConfig("post way useSound needs a sound_name")
    if config.add_sound == "custom" and not custom_sound_keyword:
        raise InvalidScriptConfig('add_sound "custom" needs a custom_sound_keyword')
    app = platform_named(platform)
    package = phone.installed_package(app)
    screen = Screen.of_app(phone, app.name, timeout=timeout, interval=interval)

    pushed: list[str] = []
    try:
        push_media(phone, files, pushed)
        if post_way == "share":
            _share(phone, package, [content_uri(phone, remote) for remote in pushed],
                   "video/*" if all(mime_type(remote).startswith("video/") for remote in pushed) else "image/*")
        else:
            if post_way == "useSound":
                _open_sound_page(screen, package, sound_name)
                screen.tap(screen.button("use_sound_button"), "no Use this sound button on the sound page")
            else:
                phone.start_app(package)
                screen.tap(screen.button("create_button"), "no create (+) button on the app's home screen")
            _pick_from_gallery(screen, len(files))
        screen.wait(screen.element("add_sound_button"), "the edit screen did not open")
        if app.chooses_placement:
            screen.tap(screen.button(f"placement_{placement}"), f"no {placement.upper()} tab on the edit screen")
        sound_added = post_way == "useSound"
        if config.add_sound in ("1", "custom"):
            _pick_sound(screen, custom_sound_keyword if config.add_sound == "custom" else "")
            sound_added = True
        if sound_added:
            screen.wait(screen.without("sound_loading"), f"the sound did not load within {config.sound_wait_time} s",
                        timeout=max(config.sound_wait_time, 1))
            _set_volumes(screen, config.origin_sound_volume, config.add_sound_volume)
        screen.tap(screen.button("next_button"), "no Next button on the edit screen")
        screen.tap(ui.text_field(), "no caption box on the post screen")
        phone.type_text(config.captions)
        screen.tap(screen.button("post_button"), f"no {app.post_button_name} button on the post screen")
        _wait_until_published(screen, config.upload_wait_time)
    finally:
        try:
            remove_media(phone, pushed)
        except (*ADB_FAILURES, DeviceError) as error:
            # The task's own outcome matters more; a leftover file is only logged.
            _log.warning("could not remove pushed media %s from %s: %s", pushed, phone.serial, error)
    return _summary(app, config.content_type, len(files), placement)


def _summary(app: Platform, content_type: int, count: int, placement: str) -> str:
    kind = "video" if content_type == 0 else f"{count} image(s)"
    where = f" as a {placement}" if app.chooses_placement else ""
    return f"published {kind} on {app.app_name}{where}"


def _share(phone: Phone, package: str, uris: list[str], mime: str) -> None:
    if len(uris) == 1:
        intent = ["-a", "android.intent.action.SEND", "-t", mime, "--eu", "android.intent.extra.STREAM", uris[0]]
    else:
        intent = ["-a", "android.intent.action.SEND_MULTIPLE", "-t", mime,
                  "--eua", "android.intent.extra.STREAM", ",".join(uris)]
    phone.start_activity([*intent, "-p", package], failure="could not share the media to the app", timeout=30)


def _open_sound_page(screen: Screen, package: str, sound: str) -> None:
    if sound.startswith(("http://", "https://")):
        screen.phone.open_url(sound, package, what=f"the sound {sound}")
        return
    # A name, not a link: find it through the app's search.
    screen.phone.start_app(package)
    screen.tap(screen.button("search_entry"), "no Search button on the app's home screen")
    screen.tap(ui.text_field(), "no search box on the search screen")
    screen.phone.type_text(sound)
    screen.tap(_sound_row(screen, sound), f"no sound named {sound} in the search results")


def _sound_row(screen: Screen, name: str) -> ui.Finder[Match]:
    """A sound in search results or the sound picker: the one named `name`, or the first when `name` is empty."""
    def find(nodes: list[ui.UiNode]) -> Match | None:
        return next((row for row in screen.find_all(nodes, "sound_row", clickable=True)
                     if not name or row.node.text.casefold() == name.casefold()), None)

    return find


def _pick_from_gallery(screen: Screen, count: int) -> None:
    tiles = screen.wait(lambda nodes: [tile.node for tile in screen.find_all(nodes, "gallery_tile", clickable=True)]
                        or None, "the gallery shows no media")
    if len(tiles) < count:
        raise ScriptFailed(f"the gallery shows {len(tiles)} item(s) but {count} were pushed")
    # Newest first: the files just pushed and scanned are the first tiles.
    for tile in tiles[:count]:
        screen.tap_node(tile)
    screen.tap(_next_with_count(screen, count), "no Next button in the gallery")


def _next_with_count(screen: Screen, count: int) -> ui.Finder[ui.UiNode]:
    """The gallery's Next button, which may name how many items are picked ("Next (2)", "Dalej (2)")."""
    def find(nodes: list[ui.UiNode]) -> ui.UiNode | None:
        trimmed = {dataclasses.replace(node, text=node.text.removesuffix(f" ({count})")): node for node in nodes}
        found = screen.button("next_button")(list(trimmed))
        return trimmed[found.node] if found else None

    return find


def _pick_sound(screen: Screen, keyword: str) -> None:
    screen.tap(screen.button("add_sound_button"), "no Add sound button on the edit screen")
    if keyword:
        screen.tap(ui.text_field(), "no search box on the sound picker")
        screen.phone.type_text(keyword)
    screen.tap(_sound_row(screen, keyword),
               f"no sound found for {keyword!r}" if keyword else "no sound offered in the sound picker")


def _set_volumes(screen: Screen, origin: int, added: int) -> None:
    screen.tap(screen.button("volume_button"), "no Volume button on the edit screen")
    for element, label, value in (("original_sound_slider", "Original sound", origin),
                                  ("added_sound_slider", "Added sound", added)):
        slider = screen.wait(lambda nodes: next((match.node for match in screen.find_all(nodes, element)  # noqa: B023 - waited on here
                                                 if match.node.class_name.endswith("SeekBar")), None),
                             f"no {label} volume slider")
        left, top, right, bottom = slider.bounds
        x = left + round((right - left) * max(0, min(100, int(value))) / 100)
        screen.phone.tap(min(x, right - 1), (top + bottom) // 2)
    screen.tap(screen.button("done_button"), "no Done button on the volume sheet")


def _wait_until_published(screen: Screen, upload_wait_time: int) -> None:
    def still_uploading(nodes: list[ui.UiNode]) -> ScriptFailed:
        progress = next((match.node.text for match in screen.find_all(nodes, "uploading")), "")
        # Permanent: the upload may still finish, and a retry would publish twice.
        return ScriptFailed(f"upload did not finish within {upload_wait_time} s"
                            + (f" (the app still shows {progress})" if progress else ""))

    screen.wait(screen.element("published", text_fields=False), timeout=upload_wait_time,
                failure=still_uploading)
