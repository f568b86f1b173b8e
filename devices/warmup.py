"""The account_warmup script: watch a feed like a person would, with chance-driven likes, follows and comments."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

from contract.script_configs import WarmupConfig
from devices import ui
from devices.phone import Phone
from devices.platforms import platform_named
from devices.screen import Screen

# Finger from low to high on a 1080x2400 screen: the next video.
_SWIPE_START, _SWIPE_END, _SWIPE_SECONDS = (540, 1800), (540, 600), 0.25


@dataclass
class _Tally:
    watched: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"like": 0, "follow": 0, "bookmark": 0, "comment": 0})

    def summary(self) -> str:
        c = self.counts
        return (f"watched {self.watched} videos, liked {c['like']}, followed {c['follow']}, "
                f"bookmarked {c['bookmark']}, commented {c['comment']}")


def warm_up(phone: Phone, config: WarmupConfig, *, platform: str, comments: Callable[[], str] | None,
            rng: random.Random, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep, timeout: float = 20.0, interval: float = 0.3) -> str:
    """Watch for `config.task_duration` seconds; `comments` is None when nothing may be commented."""
    app = platform_named(platform)
    package = phone.installed_package(app)
    topics = [line.strip() for line in config.topic.splitlines() if line.strip()]
    end = clock() + config.task_duration
    tally = _Tally()
    screen = Screen.of_app(phone, app.name, timeout=timeout, interval=interval)

    phone.start_app(package)
    if topics:
        topic = rng.choice(topics)
        screen.tap(screen.button("search_entry"), "no Search button on the app's home screen")
        screen.tap(ui.text_field(), "no search box on the search screen")
        phone.type_text(topic)
        screen.tap(screen.button("search_results_tab"), f"no video results for the topic {topic!r}")
    elif app.feed_tab:
        element, name = app.feed_tab
        screen.tap(screen.button(element), f"no {name} tab on {app.app_name}'s home screen")
    # The feed never idles, so every read below leans on ui.dump_xml's retries; the first one has no earlier
    # screen of the video to find it on.
    phone.entering_video_feed = True
    while clock() < end:
        nodes = screen.wait(screen.showing("like_button", "liked_button"), "no video with a Like button")
        sleep(rng.uniform(config.min_duration, config.max_duration))
        # Tapping Like / Follow / Save does not move the other buttons, so one read serves all three.
        for kind, element, percent in (("like", "like_button", config.like_probable),
                                       ("follow", "follow_button", config.floow_probable),
                                       ("bookmark", "bookmark_button", config.collect_probable)):
            if _chance(rng, percent) and _tap_if_present(screen, element, nodes):
                tally.counts[kind] += 1
        if comments is not None and _chance(rng, config.comment_probable):
            if _comment(screen, comments(), nodes):
                tally.counts["comment"] += 1
        phone.swipe(_SWIPE_START, _SWIPE_END, _SWIPE_SECONDS)
        tally.watched += 1
    return tally.summary()


def _chance(rng: random.Random, percent: float) -> bool:
    return percent > 0 and rng.random() * 100 < percent


def _tap_if_present(screen: Screen, element: str, nodes: list[ui.UiNode]) -> bool:
    # Already liked / already following: the button is gone or is another element, which is not an error.
    found = screen.button(element)(nodes)
    if found is None:
        return False
    screen.tap_node(found.node)
    return True


def _comment(screen: Screen, text: str, nodes: list[ui.UiNode]) -> bool:
    text = (text or "").strip()
    if not text or not _tap_if_present(screen, "comment_button", nodes):
        return False
    screen.tap(ui.text_field(), "no comment box after tapping Comment")
    screen.phone.type_text(text)
    screen.tap(screen.button("post_comment_button"), "no Post button in the comment box")
    screen.phone.back()  # close the comment sheet, back to the video
    # Back on the video before the next swipe: a dialog that came with it would take the swipe.
    screen.wait(screen.showing("like_button", "liked_button"), "no video with a Like button after commenting")
    return True
