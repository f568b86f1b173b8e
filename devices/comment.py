"""The comment script: open a post by its URL, write one comment (with an image on TikTok) and send it."""

from __future__ import annotations

import logging
import pathlib
import random

from contract.script_configs import COMMENT_EMOJI, CommentConfig, post_url
from devices import ui
from devices.errors import DeviceError, InvalidScriptConfig, ScriptFailed, TargetNotFound
from devices.media import push_media, remove_media
from devices.phone import ADB_FAILURES, Phone
from devices.platforms import platform_named
from devices.screen import Screen
from devices.selectors import Match

_log = logging.getLogger(__name__)


def comment_post(phone: Phone, config: CommentConfig, *, platform: str, rng: random.Random,
                 timeout: float = 20.0, interval: float = 0.3, shown_timeout: float = 10.0) -> str:
    """Comment on the config's first post (the API fans a request out to one post per task) with one of its
    lines; the task succeeds only once the comment shows under the post."""
    url = config.targets()[0]
    if post_url(url)[0] != platform:
        raise InvalidScriptConfig(f"{url} is a {post_url(url)[0]} post; this task runs {platform}")
    text = rng.choice(config.comments())
    if config.insert_emoji:
        text = f"{text} {rng.choice(COMMENT_EMOJI)}"
    app = platform_named(platform)
    package = phone.installed_package(app)
    screen = Screen.of_app(phone, app.name, timeout=timeout, interval=interval)

    pushed: list[str] = []
    try:
        if config.comment_image_path:
            # Newest in the camera roll, so the first tile of the app's gallery.
            push_media(phone, [pathlib.Path(config.comment_image_path)], pushed)
        phone.open_url(url, package, what=f"the post {url}")
        phone.entering_video_feed = True  # a video post opens playing, like a feed
        screen.tap_node(screen.wait(_post_loaded(screen, url), f"no Comment button on the post {url}").node)
        screen.tap(ui.text_field(), "no comment box after tapping Comment")
        phone.type_text(text)
        if pushed:
            screen.tap(screen.button("comment_image_button"), "no image button in the comment box")
            screen.tap(screen.button("gallery_tile"), "no photo in the gallery to attach to the comment")
        screen.tap(screen.button("post_comment_button"), "no Post button in the comment box")
        screen.wait(_showing_comment(text), timeout=shown_timeout,
                    failure=lambda _nodes: ScriptFailed(f"sent the comment on {url} but it does not show under the "
                                                        f"post after {shown_timeout:g} s"))
        phone.back()  # close the comment sheet
    finally:
        try:
            remove_media(phone, pushed)
        except (*ADB_FAILURES, DeviceError) as error:
            # The task's own outcome matters more; a leftover file is only logged.
            _log.warning("could not remove pushed media %s from %s: %s", pushed, phone.serial, error)
    with_image = " with an image" if pushed else ""
    return f"commented {text!r}{with_image} on {url}"


def _post_loaded(screen: Screen, url: str) -> ui.Finder[Match]:
    # A post can sit on a spinner for a while; only its Comment button or the "unavailable" text counts.
    def comment_button_or_missing(nodes: list[ui.UiNode]) -> Match | None:
        if screen.find(nodes, "missing_post"):
            raise TargetNotFound(f"the post {url} does not exist or is not available")
        return screen.button("comment_button")(nodes)

    return comment_button_or_missing


def _showing_comment(text: str) -> ui.Finder[ui.UiNode]:
    # A posted comment may share its row's text with the author's name: contained, not equal; never the box.
    wanted = text.casefold()
    return lambda nodes: next((node for node in nodes if not node.is_text_field and wanted in node.text.casefold()), None)
