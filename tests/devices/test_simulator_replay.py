"""Recorded screens: `./run record` writes one from a simulated phone, a replay phone serves it back over adb,
`./run inspect` reads it; real captures of the real apps (../shared/real-screens) replayed the same way."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from api.settings import Settings
from api.supervision.processes import simulator_child
from devices import inspect, record, ui
from devices.adb import open_phone
from devices.phone import Phone
from simulator.replay import ReplayPhone, Recording
from tests.devices.simulator_helpers import TIKTOK, launch
from tests.harness import running_farm

REPO = Path(__file__).resolve().parents[2]


def _captures() -> Path:
    # The captures sit beside the checkout (../shared/real-screens/); worktrees nest one level deeper.
    for folder in (REPO.parent, *REPO.parent.parents):
        if (folder / "shared" / "real-screens").is_dir():
            return folder / "shared" / "real-screens"
    raise AssertionError(f"real captures missing: expected {REPO.parent / 'shared' / 'real-screens'}")


def _record(adb, serial: str, folder: Path, capsys) -> dict:
    assert record.main([serial, str(folder), "--adb-port", str(adb.port), "--note", "profile of bob"]) == 0
    return json.loads(capsys.readouterr().out)


def _inspect(path: Path, capsys) -> dict:
    assert inspect.main([str(path)]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_recording_of_a_simulated_phone_is_served_back_by_a_replay_phone(adb, serial, phone, tmp_path, capsys):
    device = open_phone(adb, serial)
    device.shell(["am", "start", "-a", "android.intent.action.VIEW", "-d", "https://www.tiktok.com/@bob", "-p", TIKTOK])
    meta = _record(adb, serial, tmp_path / "bob", capsys)
    assert sorted(path.name for path in (tmp_path / "bob").iterdir()) == ["screen.json", "screen.png", "screen.xml"]
    assert json.loads((tmp_path / "bob" / "screen.json").read_text()) == meta
    assert {key: meta[key] for key in ("format", "app", "package", "version", "locale", "serial", "screen", "note")} \
        == {"format": 1, "app": "tiktok", "package": TIKTOK, "version": "43.1.4", "locale": "en-US", "serial": serial,
            "screen": "profile", "note": "profile of bob"}
    assert meta["model"] == phone.model and meta["recorded_at"]
    recorded_xml = (tmp_path / "bob" / "screen.xml").read_text(encoding="utf-8")
    found = _inspect(tmp_path / "bob" / "screen.xml", capsys)
    assert (found["app"], found["screen"], found["elements"]["follow_button"]["by"]) == ("tiktok", "profile", "text")

    replay = ReplayPhone.from_path(tmp_path / "bob")
    with running_farm(adb, 0) as farm:
        replay_serial = farm.add_phone(replay)
        replayed = Phone(open_phone(adb, replay_serial))
        assert ui.dump_xml(replayed) == recorded_xml
        assert replayed.device.shell(["screencap", "-p"], encoding=None) == (tmp_path / "bob" / "screen.png").read_bytes()
        launch(replayed.device, TIKTOK)  # the app "opens": a recording still shows what it shows
        again = _record(adb, replay_serial, tmp_path / "again", capsys)
        assert {key: again[key] for key in ("app", "package", "version", "locale", "model", "screen")} \
            == {key: meta[key] for key in ("app", "package", "version", "locale", "model", "screen")}
        follow = ui.parse(recorded_xml)
        button = next(node for node in follow if node.text == "Follow")
        replayed.tap(*button.center)
        replayed.back()
    assert [(x, y, name, hit.text if hit else None) for x, y, name, hit in replay.taps] \
        == [(*button.center, "bob", "Follow"), (-1, -1, "bob", None)]


def test_real_captures_are_served_over_adb_in_the_format_uiautomator_writes(adb):
    names = ["tiktok-popup-1", "tiktok-popup-2", "tiktok-feed-1", "instagram-captcha-1", "instagram-profile-1"]
    files = [_captures() / f"{name}.xml" for name in names]
    replay = ReplayPhone.from_files(files)
    with running_farm(adb, 0) as farm:
        phone = Phone(open_phone(adb, farm.add_phone(replay)))
        for name, path in zip(names, files):
            replay.show(name)
            capture = path.read_text(encoding="utf-8")
            served = ui.dump_xml(phone)
            if name == "tiktok-popup-1":  # a uiautomator dump comes back as it was recorded
                assert served == capture
            else:  # an Appium page source comes back as uiautomator writes it, element for element
                assert served.count("<node ") == len(ui.parse(capture)) and "displayed=" not in served
            assert ui.parse(served) == ui.parse(capture)
            assert inspect.inspect_xml(served)["screen"] == inspect.inspect_xml(capture)["screen"]
        replay.show("tiktok-popup-2")
        deny = next(node for node in ui.parse(replay.window_xml()) if node.text == "Don’t allow")
        phone.tap(*deny.center)
        assert phone.device.shell(["getprop", "persist.sys.locale"]) == "en-US"
        assert phone.device.shell(["screencap", "-p"], encoding=None).startswith(b"\x89PNG")  # drawn: none recorded
    (x, y, shown, hit), = replay.taps
    assert ((x, y), shown, hit.text, hit.clickable) == (deny.center, "tiktok-popup-2", "Don’t allow", True)


def test_a_tap_named_in_screen_json_shows_the_next_recording(adb, tmp_path):
    steps = {"1-popup": ("tiktok-popup-1.xml", {"locale": "fr-FR", "version": "43.1.4", "package": TIKTOK,
                                                "transitions": [{"text": "Pas maintenant", "to": "2-feed"}]}),
             "2-feed": ("tiktok-feed-1.xml", {"locale": "en-US"})}
    for name, (capture, meta) in steps.items():
        (tmp_path / name).mkdir()
        # Read from ../shared at test time and written to the test's own temporary folder only.
        (tmp_path / name / "screen.xml").write_bytes((_captures() / capture).read_bytes())
        (tmp_path / name / "screen.json").write_text(json.dumps({"format": 1, **meta}))
    replay = ReplayPhone.from_path(tmp_path)
    with running_farm(adb, 0) as farm:
        device = open_phone(adb, farm.add_phone(replay))
        assert device.shell(["getprop", "persist.sys.locale"]) == "fr-FR"
        assert "versionName=43.1.4" in device.shell(["dumpsys", "package", TIKTOK])
        not_now = next(node for node in Recording.load(tmp_path / "1-popup").nodes if node.text == "Pas maintenant")
        left, top, right, bottom = not_now.bounds
        device.shell(["input", "tap", "5", "5"])  # no transition: the screen stays
        assert replay.current.name == "1-popup"
        device.shell(["input", "tap", str((left + right) // 2), str((top + bottom) // 2)])
        assert replay.current.name == "2-feed"
        assert device.shell(["getprop", "persist.sys.locale"]) == "en-US"
        assert "Pas maintenant" not in Phone(device).dump_window(compressed=True)


def test_the_launchers_simulator_gets_the_quirks_the_version_and_a_replay(adb, tmp_path):
    settings = Settings(simulate=1, simulate_quirks=True, simulate_app_version="35.1.3", adb_port=adb.port,
                        data_dir=tmp_path)
    child = simulator_child(settings, tmp_path)
    first_port = child.argv.index("--first-port")  # any free port here: the fixed one may be taken
    argv = child.argv[:first_port] + child.argv[first_port + 2:]
    capture = _captures() / "instagram-popup-1.xml"
    process = subprocess.Popen([*argv, "--simulate-first-dump-seconds", "0.05", "--replay", str(capture)],
                               cwd=child.cwd, env=child.env, stdout=subprocess.PIPE, text=True)
    try:
        simulated, replayed = (open_phone(adb, process.stdout.readline().strip()) for _phone in range(2))
        launch(simulated, TIKTOK)
        assert "versionName=35.1.3" in simulated.shell(["dumpsys", "package", TIKTOK])
        assert simulated.shell(["uiautomator", "dump", "--compressed"]) == "ERROR: could not get idle state."
        assert replayed.shell(["uiautomator", "dump", "/sdcard/d.xml"]).startswith("UI hierchary dumped to:")
        assert replayed.sync.read_text("/sdcard/d.xml") == capture.read_text(encoding="utf-8")
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
