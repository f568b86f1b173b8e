"""Simulated interruptions: seeded dialogs with the real apps' texts, dismissed by their button or BACK."""

from __future__ import annotations

from devices.adb import open_phone
from simulator import apps, interruptions
from simulator.display import Screen
from simulator.phone import SimulatedPhone
from tests.devices.simulator_helpers import TIKTOK, dump, launch, tap_text, texts
from tests.harness import running_farm


def _screen_changes(phone: SimulatedPhone, count: int) -> list[str | None]:
    """What covers the screen after each of `count` screen changes, each dialog dismissed by BACK."""
    seen = []
    for index in range(count):
        phone.screen = Screen(package=TIKTOK, name="search" if index % 2 else "feed")
        seen.append(phone.interruption.name if phone.interruption else None)
        apps.press_back(phone)
    return seen


def _phone(rate: float, seed: int = 7, name: str = "sim1") -> SimulatedPhone:
    phone = SimulatedPhone(name)
    phone.interruption_rate = rate
    phone.seed_interruptions(seed)
    return phone


def test_interruptions_appear_at_the_seeded_rate_and_replay():
    seen = _screen_changes(_phone(0.3), 600)
    assert 0.22 < sum(name is not None for name in seen) / len(seen) < 0.38
    assert len({name for name in seen if name}) >= 5  # several kinds from the catalogue
    assert _screen_changes(_phone(0.3), 600) == seen
    assert _screen_changes(_phone(0.3, seed=8), 600) != seen
    assert not any(_screen_changes(_phone(0.0), 200))


def test_a_dialog_goes_away_on_its_dismiss_button_and_the_screen_below_is_unchanged(adb):
    with running_farm(adb, 1, interruption_rate=1.0, seed=3) as farm:
        phone = farm.phones[farm.serials[0]]
        device = open_phone(adb, farm.serials[0])
        launch(device, TIKTOK)
        feed = phone.screen
        dialog = phone.interruption
        assert dialog is not None and dialog.platform == "tiktok"
        nodes = dump(device)
        assert set(dialog.lines) <= texts(nodes)
        left, top, right, bottom = _dismiss_button(phone).bounds
        device.shell(["input", "tap", str((left + right) // 2), str((top + bottom) // 2)])
        assert phone.interruption is None and phone.screen is feed
        assert "Home" in texts(dump(device))
        device.shell(["input", "tap", "960", "160"])  # Search: a screen change, so a new dialog
        assert phone.interruption is not None and phone.screen.name == "search"
        search = phone.screen
        device.shell(["input", "keyevent", "KEYCODE_BACK"])
        assert phone.interruption is None and phone.screen is search


def _dismiss_button(phone: SimulatedPhone):
    return next(node for node in apps.render(phone) if node.action == ("dismiss_interruption",))


def test_every_dialog_of_the_catalogue_has_a_dismiss_button_that_works():
    for locale in ("en", "pl", "ja"):
        phone = SimulatedPhone("sim1", locale=locale)
        for item in interruptions.CATALOGUE:
            apps.launch(phone, TIKTOK if item.platform == "tiktok" else apps.INSTAGRAM)
            below = phone.screen
            phone.interruption = item
            left, top, _right, _bottom = _dismiss_button(phone).bounds
            apps.tap(phone, left + 1, top + 1)
            assert phone.interruption is None and phone.screen is below, item.name


def test_a_dialog_takes_the_taps_meant_for_the_screen_below():
    phone = _phone(1.0)
    apps.launch(phone, TIKTOK)
    assert phone.interruption is not None
    apps.tap(phone, 960, 160)  # Search, under the dialog
    assert phone.screen.name == "feed" and phone.interruption is not None


def test_dismiss_buttons_speak_the_phone_locale(adb):
    with running_farm(adb, 1, locale="pl") as farm:
        phone = farm.phones[farm.serials[0]]
        device = open_phone(adb, farm.serials[0])
        launch(device, TIKTOK)
        phone.interruption = interruptions.find("tiktok", "sync_contacts", blocking=False)
        nodes = dump(device)
        assert {"Sync contacts", "Nie teraz"} <= texts(nodes)
        tap_text(device, nodes, "Nie teraz")
        assert phone.interruption is None


def test_blocking_dialogs_appear_only_on_request_and_stay(adb):
    with running_farm(adb, 1, interruption_rate=0.0) as farm:
        phone = farm.phones[farm.serials[0]]
        device = open_phone(adb, farm.serials[0])
        launch(device, TIKTOK)
        assert "Verify to continue" not in texts(dump(device))
        phone.block("captcha")
        nodes = dump(device)
        assert "Verify to continue" in texts(nodes)
        tap_text(device, nodes, "Close")
        device.shell(["input", "keyevent", "KEYCODE_BACK"])
        assert "Verify to continue" in texts(dump(device)) and phone.screen.name == "feed"
        phone.block("too_fast")
        assert "You’re acting too fast. Try again later." in texts(dump(device))
        phone.unblock()
        assert "Home" in texts(dump(device))
        assert all(item.blocking for item in interruptions.BLOCKING)
        assert not any(item.blocking for item in interruptions.CATALOGUE)
