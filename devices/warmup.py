"""The account_warmup script: watch a feed like a person would, with chance-driven likes, follows and comments."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

import adbutils

from devices import ui
from devices.accounts import launch_app, raise_if_logged_out
from devices.apps import installed_package
from devices.errors import DeviceError
from devices.keyboard import type_text

SEARCH_LABELS = ("Search", "Search and explore")
RESULTS_TAB_LABELS = {"tiktok": ("Videos",), "instagram": ("Reels",)}
LIKE_LABELS = ("Like",)
FOLLOW_LABELS = ("Follow",)
BOOKMARK_LABELS = ("Add to Favorites", "Favorites", "Save")
COMMENT_LABELS = ("Comment",)
POST_COMMENT_LABELS = ("Post", "Post comment", "Send")
_SWIPE_UP = ["input", "swipe", "540", "1800", "540", "600", "250"]


@dataclass
class _Tally:
    watched: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"like": 0, "follow": 0, "bookmark": 0, "comment": 0})

    def summary(self) -> str:
        c = self.counts
        return (f"watched {self.watched} videos, liked {c['like']}, followed {c['follow']}, "
                f"bookmarked {c['bookmark']}, commented {c['comment']}")


def warm_up(phone: adbutils.AdbDevice, *, platform: str, task_duration: float, topic_lines: list[str],
            min_duration: float, max_duration: float, like_probable: float, follow_probable: float,
            collect_probable: float, comment_probable: float, comments: Callable[[], str] | None,
            rng: random.Random, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep, timeout: float = 20.0, interval: float = 0.3) -> str:
    if min_duration < 0 or max_duration < min_duration:
        raise DeviceError(f"watch time range {min_duration}-{max_duration} s is not valid")
    package = installed_package(phone, platform)
    topics = [line.strip() for line in topic_lines if line.strip()]
    end = clock() + task_duration
    tally = _Tally()

    launch_app(phone, package)
    if topics:
        _open_topic_feed(phone, platform, rng.choice(topics), timeout, interval)
    elif platform == "instagram":
        _tap(phone, ("Reels",), "no Reels tab on Instagram's home screen", timeout, interval)
    # The feed never idles, so every read below leans on ui.dump_xml's retries.
    while clock() < end:
        nodes = _wait(phone, lambda nodes: nodes if ui.find(nodes, *LIKE_LABELS, "Liked") else None,
                      "no video with a Like button", timeout, interval)
        sleep(rng.uniform(min_duration, max_duration))
        # Tapping Like / Follow / Save does not move the other buttons, so one read serves all three.
        for kind, labels, percent in (("like", LIKE_LABELS, like_probable), ("follow", FOLLOW_LABELS, follow_probable),
                                      ("bookmark", BOOKMARK_LABELS, collect_probable)):
            if _chance(rng, percent) and _tap_if_present(phone, labels, nodes):
                tally.counts[kind] += 1
        if comments is not None and _chance(rng, comment_probable):
            if _comment(phone, comments(), nodes, timeout, interval):
                tally.counts["comment"] += 1
        phone.shell(_SWIPE_UP)
        tally.watched += 1
    return tally.summary()


def _chance(rng: random.Random, percent: float) -> bool:
    return percent > 0 and rng.random() * 100 < percent


def _wait(phone, predicate, what: str, timeout: float, interval: float):
    def checked(nodes: list[ui.UiNode]):
        raise_if_logged_out(phone, nodes)
        return predicate(nodes)

    return ui.wait_for(phone, checked, timeout=timeout, interval=interval, what=what)


def _tap(phone, labels: tuple[str, ...], what: str, timeout: float, interval: float) -> None:
    ui.tap(phone, _wait(phone, lambda nodes: _clickable(nodes, labels), what, timeout, interval))


def _clickable(nodes: list[ui.UiNode], labels: tuple[str, ...]) -> ui.UiNode | None:
    return ui.find([node for node in nodes if node.clickable], *labels, include_text_fields=False)


def _tap_if_present(phone: adbutils.AdbDevice, labels: tuple[str, ...], nodes: list[ui.UiNode]) -> bool:
    # Already liked / already following: the button is gone or relabelled, which is not an error.
    node = _clickable(nodes, labels)
    if node is None:
        return False
    ui.tap(phone, node)
    return True


def _open_topic_feed(phone: adbutils.AdbDevice, platform: str, topic: str, timeout: float,
                     interval: float) -> None:
    _tap(phone, SEARCH_LABELS, "no Search button on the app's home screen", timeout, interval)
    field_node = _wait(phone, lambda nodes: next((node for node in nodes if node.is_text_field), None),
                       "no search box on the search screen", timeout, interval)
    ui.tap(phone, field_node)
    type_text(phone, topic)
    _tap(phone, RESULTS_TAB_LABELS[platform], f"no video results for the topic {topic!r}", timeout, interval)


def _comment(phone: adbutils.AdbDevice, text: str, nodes: list[ui.UiNode], timeout: float,
             interval: float) -> bool:
    text = (text or "").strip()
    if not text or not _tap_if_present(phone, COMMENT_LABELS, nodes):
        return False
    box = _wait(phone, lambda nodes: next((node for node in nodes if node.is_text_field), None),
                "no comment box after tapping Comment", timeout, interval)
    ui.tap(phone, box)
    type_text(phone, text)
    _tap(phone, POST_COMMENT_LABELS, "no Post button in the comment box", timeout, interval)
    phone.shell(["input", "keyevent", "KEYCODE_BACK"])  # close the comment sheet, back to the video
    return True
