"""The commands of the simulated phone's sh that drive its apps: am, monkey, input and uiautomator."""

from __future__ import annotations

import base64
import time

from simulator import apps, feed_ui, upload_ui
from simulator.basic_commands import Command, Output, reply
from simulator.display import Screen

_AM_FLAGS_WITH_VALUE = {"-a", "-d", "-t", "-c", "-n", "-p", "-f", "--user", "--ei", "--ez", "--el"}


def _parse_intent(args: list[str]) -> dict[str, str]:
    intent: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--es" and i + 2 < len(args):
            intent["extra:" + args[i + 1]] = args[i + 2]
            i += 3
        elif arg in ("--eu", "--eua") and i + 2 < len(args):
            intent["uris"] = intent.get("uris", "") + ("," if "uris" in intent else "") + args[i + 2]
            i += 3
        elif arg in ("--ei", "--ez", "--el") and i + 2 < len(args):
            i += 3
        elif arg in _AM_FLAGS_WITH_VALUE and i + 1 < len(args):
            intent[arg] = args[i + 1]
            i += 2
        else:
            i += 1
    return intent


def _am(phone, args, stdin) -> Output:
    if not args:
        return reply("usage: am [subcommand] [options]\n", 1)
    subcommand, rest = args[0], args[1:]
    if subcommand == "start":
        return _am_start(phone, _parse_intent(rest))
    if subcommand == "force-stop" and rest:
        if phone.screen.package == rest[0]:
            phone.screen = Screen()
        return reply("")
    if subcommand == "broadcast":
        return _am_broadcast(phone, _parse_intent(rest))
    return reply(f"Error: unknown command '{subcommand}'\n", 1)


def _am_start(phone, intent: dict[str, str]) -> Output:
    description = " ".join(f"{key[1:]}={value}" for key, value in intent.items() if key.startswith("-"))
    started = f"Starting: Intent {{ {description} }}\n"
    unresolved = reply(started + "Error: Activity not started, unable to resolve Intent\n", 1)
    package = intent.get("-p") or intent.get("-n", "").split("/")[0]
    if package and package not in phone.installed_packages:
        return unresolved
    url = intent.get("-d")
    if intent.get("-a", "").startswith("android.intent.action.SEND") and package:
        upload_ui.open_shared(phone, package, [uri for uri in intent.get("uris", "").split(",") if uri])
    elif url:
        if not apps.open_link(phone, url, package):
            return unresolved
    elif package:
        apps.launch(phone, package)
    return reply(started)


def _am_broadcast(phone, intent: dict[str, str]) -> Output:
    action = intent.get("-a", "")
    if action == "ADB_INPUT_B64" and "extra:msg" in intent:
        try:
            text = base64.b64decode(intent["extra:msg"]).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            text = ""
        apps.type_text(phone, text)
    return reply(f"Broadcasting: Intent {{ act={action} flg=0x400000 }}\nBroadcast completed: result=0\n")


def _monkey(phone, args, stdin) -> Output:
    intent = _parse_intent(args)
    package = intent.get("-p")
    if not package or package not in phone.installed_packages:
        return reply("** No activities found to run, monkey aborted.\n", 252)
    apps.launch(phone, package)
    return reply("Events injected: 1\n## Network stats: elapsed time=12ms\n")


_KEYCODES = {"4": "BACK", "KEYCODE_BACK": "BACK", "BACK": "BACK", "3": "HOME", "KEYCODE_HOME": "HOME",
             "HOME": "HOME", "67": "DEL", "KEYCODE_DEL": "DEL", "66": "ENTER", "KEYCODE_ENTER": "ENTER"}


def _input(phone, args, stdin) -> Output:
    if not args:
        return reply("Usage: input [<source>] <command> [<arg>...]\n", 1)
    command, rest = args[0], args[1:]
    if command == "tap" and len(rest) == 2:
        phone.tap(int(float(rest[0])), int(float(rest[1])))
    elif command == "text" and rest:
        # `input text` turns %s into a space; everything else is typed as is.
        text = " ".join(rest).replace("%s", " ")
        if not text.isascii():
            return reply("", 0)  # the real key map silently drops what it cannot type
        apps.type_text(phone, text)
    elif command == "keyevent" and rest:
        key = _KEYCODES.get(rest[0].upper(), rest[0])
        if key == "BACK":
            phone.press_back()
        elif key == "HOME":
            phone.screen = Screen()
        elif key == "DEL":
            apps.delete_character(phone)
    elif command == "swipe" and len(rest) >= 4:
        feed_ui.swipe(phone, *(int(float(value)) for value in rest[:4]))
    else:
        return reply(f"Error: Unknown command: {command}\n", 1)
    return reply("")


def _uiautomator(phone, args, stdin) -> Output:
    if not args or args[0] != "dump":
        return reply("Usage: uiautomator <subcommand> [options]\n", 1)
    paths = [arg for arg in args[1:] if not arg.startswith("--")]
    path = paths[0] if paths else "/sdcard/window_dump.xml"
    time.sleep(phone.dump_delay())  # a screen that has just opened is still settling
    if phone.take_dump_failure() or _feed_never_idles(phone, "--compressed" in args):
        if phone.video_blocks_dumps and feed_ui.is_video_screen(phone.screen):
            time.sleep(phone.video_dump_stall_seconds)  # uiautomator waits for an idle state that never comes
        return reply("ERROR: could not get idle state.\n", 0)
    phone.fs.write(path, phone.window_xml().encode())
    return reply(f"UI hierchary dumped to: {path}\n")


def _feed_never_idles(phone, compressed: bool) -> bool:
    # A playing video keeps the screen busy: a plain dump times out waiting for idle
    # (once per feed here, so retries get through), unless the feed is set to always fail.
    screen = phone.screen
    if not feed_ui.is_video_screen(screen):
        return False
    if phone.feed_dump_always_fails:
        return True
    if screen.paused:
        return False  # a paused video lets the screen idle
    if phone.video_blocks_dumps:
        return True
    if not compressed and not screen.plain_dump_failed:
        screen.plain_dump_failed = True
        return True
    return False


COMMANDS: dict[str, Command] = {"am": _am, "monkey": _monkey, "input": _input, "uiautomator": _uiautomator}
