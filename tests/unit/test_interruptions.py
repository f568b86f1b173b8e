"""The watcher: dismisses a catalogued interruption and lets the script go on, stops on a blocking one."""

import pytest

from devices.errors import AccountBanned, AccountNeedsAttention, AccountRateLimited, DeviceError
from devices.screen import Screen
from devices.ui import UiNode, button
from devices.watcher import Watcher


def node(text="", desc="", bounds=(0, 0, 100, 100)):
    return UiNode(text=text, content_desc=desc, resource_id="", class_name="android.widget.Button", clickable=True, bounds=bounds)


def xml(*nodes):
    body = "".join(f'<node text="{n.text}" content-desc="{n.content_desc}" class="{n.class_name}" clickable="true" '
                   f'bounds="[{n.bounds[0]},{n.bounds[1]}][{n.bounds[2]},{n.bounds[3]}]"/>' for n in nodes)
    return f"UI hierchary dumped to: /x\n<?xml version='1.0'?><hierarchy>{body}</hierarchy>"


class FakePhone:
    serial = "fake-1"

    def __init__(self, screens):
        self.screens, self.taps, self.backs, self.last_dump = list(screens), [], 0, None
        self.watcher, self.entering_video_feed = None, False

    def dump_window(self, *, compressed):
        return self.screens[0] if len(self.screens) == 1 else self.screens.pop(0)

    def tap(self, x, y):
        self.taps.append((x, y))

    def back(self):
        self.backs += 1


def test_dismiss_then_continue():
    popup = xml(node("To connect with people you know on TikTok, allow access to your contacts"),
                node("Don\u2019t allow", bounds=(0, 200, 100, 300)))
    phone = FakePhone([popup, xml(node("Follow", bounds=(0, 400, 100, 500)))])
    phone.watcher = Watcher.for_app("tiktok")
    found = Screen(phone, timeout=1, interval=0).wait(button("Follow"), "follow button")
    assert found.text == "Follow"
    assert phone.taps == [(50, 250)]
    assert phone.watcher.note() == "; dismissed: contacts_permission (tapped \"Don't allow\")"


@pytest.mark.parametrize("texts, error, words", [
    (["Confirm you're human", "Next"], AccountNeedsAttention, "confirm you're human"),
    (["We disabled your account"], AccountBanned, "disabled"),
    (["Try Again Later", "OK"], AccountRateLimited, "try again later"),
])
def test_blocking_raises_the_mark(texts, error, words):
    phone = FakePhone([xml(*(node(text) for text in texts))])
    phone.watcher = Watcher.for_app("instagram")
    with pytest.raises(error) as raised:
        Screen(phone, timeout=1, interval=0).wait(button("Follow"), "follow button")
    assert isinstance(raised.value, DeviceError) and words in raised.value.remark.casefold()
    assert phone.taps == []


def test_tiktok_captcha_in_thai_locale_still_recognised():
    phone = FakePhone([xml(node("Drag the puzzle piece into place"))])
    phone.watcher = Watcher.for_app("tiktok", "th-TH")
    with pytest.raises(AccountNeedsAttention, match="TikTok asks to verify it's you"):
        Screen(phone, timeout=1, interval=0).read()


def test_a_dialog_that_keeps_coming_back_stops():
    popup = xml(node("Rate Instagram"), node("No, thanks"))
    phone = FakePhone([popup])
    phone.watcher = Watcher.for_app("instagram")
    with pytest.raises(AccountNeedsAttention, match="keeps coming back"):
        Screen(phone, timeout=1, interval=0).read()


def test_dump_that_never_idles_pauses_the_video_then_retries():
    from devices.ui import dump_xml
    feed = xml(node(desc="Video", bounds=(0, 0, 1000, 2000)), node(desc="Like video. 3 likes", bounds=(900, 900, 1000, 1000)))
    phone = FakePhone(["ERROR: could not get idle state.\n", feed])
    phone.last_dump = feed[feed.index("<?xml"):]
    assert "Like video" in dump_xml(phone, retry_delay=0)
    assert phone.taps == [(500, 1000)]


def test_unknown_dialog_is_named_in_the_remark():
    from devices.errors import UiNotRecognised
    dialog = UiNode(text="", content_desc="Dialog", resource_id="", class_name="android.widget.FrameLayout", clickable=False,
                    bounds=(0, 0, 10, 10))
    phone = FakePhone([xml(dialog, node("Help us improve"), node("Maybe"))])
    phone.watcher = Watcher.for_app("tiktok")
    with pytest.raises(UiNotRecognised, match="UI not recognised: follow button, and a dialog the interruption catalogue "
                                              "does not know shows 'Help us improve', 'Maybe'"):
        Screen(phone, timeout=0, interval=0).wait(button("Follow"), "follow button")
