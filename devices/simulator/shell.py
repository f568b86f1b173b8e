"""A small /system/bin/sh: quoting-aware parsing and the commands the device layer and adbutils send."""

from __future__ import annotations

import base64
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Callable

from devices.simulator import apps, feed_ui, media, upload_ui

# Stands in for "$?" until the command runs, because the status is only known then.
_LAST_STATUS = "\x00?"


class ShellSyntaxError(Exception):
    pass


@dataclass(frozen=True)
class Operator:
    symbol: str


def tokenize(line: str) -> list[str | Operator]:
    """Split like sh does: quotes make text literal, unquoted ; && || | & separate commands."""
    tokens: list[str | Operator] = []
    word: list[str] = []
    in_word = False
    i = 0

    def finish_word():
        nonlocal in_word
        if in_word:
            tokens.append("".join(word))
            word.clear()
            in_word = False

    while i < len(line):
        char = line[i]
        if char in " \t":
            finish_word()
            i += 1
        elif char == "\n":  # like ; for sh
            finish_word()
            tokens.append(Operator(";"))
            i += 1
        elif char in _REDIRECTIONS or _expands(line, i):
            _refuse_expansion(line, i)
        elif char == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unterminated '")
            word.append(line[i + 1:end])
            in_word = True
            i = end + 1
        elif char == '"':
            i = _double_quoted(line, i + 1, word)
            in_word = True
        elif char == "\\":
            if i + 1 < len(line):
                word.append(line[i + 1])
            in_word = True
            i += 2
        elif line.startswith(("&&", "||"), i):
            finish_word()
            tokens.append(Operator(line[i:i + 2]))
            i += 2
        elif char in ";|&":
            finish_word()
            tokens.append(Operator(char))
            i += 1
        elif line.startswith("$?", i):
            word.append(_LAST_STATUS)
            in_word = True
            i += 2
        else:
            word.append(char)
            in_word = True
            i += 1
    finish_word()
    return tokens


def _double_quoted(line: str, i: int, word: list[str]) -> int:
    while i < len(line):
        char = line[i]
        if char == '"':
            return i + 1
        if char == "\\" and i + 1 < len(line) and line[i + 1] in '"\\$`\n':
            word.append(line[i + 1])
            i += 2
        elif line.startswith("$?", i):
            word.append(_LAST_STATUS)
            i += 2
        elif _expands(line, i):
            _refuse_expansion(line, i)
        else:
            word.append(char)
            i += 1
    raise ShellSyntaxError('unterminated "')


_REDIRECTIONS = "<>"


def _expands(line: str, i: int) -> bool:
    """A real sh would expand this (command substitution, a variable) where the simulator would not."""
    if line[i] == "`":
        return True
    return line[i] == "$" and i + 1 < len(line) and (line[i + 1] in "({!#@*$-" or line[i + 1].isalnum() or line[i + 1] == "_")


def _refuse_expansion(line: str, i: int) -> None:
    # The device layer must quote every value; an unquoted one that a phone's sh would run or
    # expand is a bug (shell injection), so the simulated phone fails loudly instead of guessing.
    raise ShellSyntaxError(f"unquoted {line[i:i + 2]!r} would be expanded by a real shell: {line!r}")


Output = tuple[bytes, int]


def run(phone, line: str) -> Output:
    """Run a command line; returns (stdout+stderr, exit status of the last command)."""
    try:
        tokens = tokenize(line)
    except ShellSyntaxError as error:
        return f"/system/bin/sh: syntax error: {error}\n".encode(), 2
    output = bytearray()
    status = 0
    skip_next = False
    argv: list[str] = []
    pipe_input: bytes | None = None
    for token in tokens + [Operator(";")]:
        if isinstance(token, str):
            argv.append(token)
            continue
        if not skip_next and argv:
            argv = [arg.replace(_LAST_STATUS, str(status)) for arg in argv]
            out, status = _run_simple(phone, argv, pipe_input)
            if token.symbol == "|":
                pipe_input = out
            else:
                output += out
                pipe_input = None
        argv = []
        if token.symbol == "&&":
            skip_next = status != 0
        elif token.symbol == "||":
            skip_next = status == 0
        elif token.symbol != "|":
            skip_next = False
    return bytes(output), status


def _run_simple(phone, argv: list[str], stdin: bytes | None) -> Output:
    phone.record_command(argv)
    handler = _COMMANDS.get(argv[0])
    if handler is None:
        return f"/system/bin/sh: {argv[0]}: not found\n".encode(), 127
    return handler(phone, argv[1:], stdin or b"")


def _text(text: str, status: int = 0) -> Output:
    return text.encode(), status


# ---------------------------------------------------------------- commands

def _getprop(phone, args, stdin) -> Output:
    props = phone.properties()
    if args:
        return _text(props.get(args[0], "") + "\n")
    return _text("".join(f"[{key}]: [{value}]\n" for key, value in sorted(props.items())))


def _pm(phone, args, stdin) -> Output:
    if args[:2] == ["list", "packages"]:
        filters = [arg for arg in args[2:] if not arg.startswith("-")]
        packages = sorted(phone.installed_packages)
        return _text("".join(f"package:{name}\n" for name in packages
                             if not filters or filters[0] in name))
    if args[:1] == ["path"] and len(args) > 1:
        if args[1] in phone.installed_packages:
            return _text(f"package:/data/app/{args[1]}-1/base.apk\n")
        return _text("", 1)
    return _text(f"Unknown command: {' '.join(args[:1])}\n", 1)


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
        return _text("usage: am [subcommand] [options]\n", 1)
    subcommand, rest = args[0], args[1:]
    if subcommand == "start":
        return _am_start(phone, _parse_intent(rest))
    if subcommand == "force-stop" and rest:
        if phone.screen.package == rest[0]:
            phone.screen = apps.Screen()
        return _text("")
    if subcommand == "broadcast":
        return _am_broadcast(phone, _parse_intent(rest))
    return _text(f"Error: unknown command '{subcommand}'\n", 1)


def _am_start(phone, intent: dict[str, str]) -> Output:
    description = " ".join(f"{key[1:]}={value}" for key, value in intent.items() if key.startswith("-"))
    package = intent.get("-p") or intent.get("-n", "").split("/")[0]
    if package and package not in phone.installed_packages:
        return _text(f"Starting: Intent {{ {description} }}\n"
                     "Error: Activity not started, unable to resolve Intent\n", 1)
    if intent.get("-a", "").startswith("android.intent.action.SEND") and package:
        upload_ui.open_shared(phone, package, [uri for uri in intent.get("uris", "").split(",") if uri])
        return _text(f"Starting: Intent {{ {description} }}\n")
    url = intent.get("-d")
    sound = upload_ui.sound_from_url(url) if url else None
    if sound and package:
        upload_ui.open_sound_page(phone, package, sound)
        return _text(f"Starting: Intent {{ {description} }}\n")
    if url:
        target = apps.profile_user_from_url(url)
        if target is None:
            return _text(f"Starting: Intent {{ {description} }}\n")
        platform, user = target
        candidates = [name for name, owner in apps.PLATFORM_BY_PACKAGE.items()
                      if owner == platform and name in phone.installed_packages]
        if package and package not in candidates:
            return _text(f"Starting: Intent {{ {description} }}\n"
                         "Error: Activity not started, unable to resolve Intent\n", 1)
        package = package or (candidates[0] if candidates else "")
        if not package:
            return _text(f"Starting: Intent {{ {description} }}\n"
                         "Error: Activity not started, unable to resolve Intent\n", 1)
        apps.open_profile(phone, package, user)
        return _text(f"Starting: Intent {{ {description} }}\n")
    if package:
        apps.launch(phone, package)
    return _text(f"Starting: Intent {{ {description} }}\n")


def _am_broadcast(phone, intent: dict[str, str]) -> Output:
    action = intent.get("-a", "")
    if action == "ADB_INPUT_B64" and "extra:msg" in intent and phone.adb_keyboard_enabled:
        try:
            text = base64.b64decode(intent["extra:msg"]).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            text = ""
        apps.type_text(phone, text)
        phone.typed.append(text)
    return _text(f"Broadcasting: Intent {{ act={action} flg=0x400000 }}\nBroadcast completed: result=0\n")


def _monkey(phone, args, stdin) -> Output:
    intent = _parse_intent(args)
    package = intent.get("-p")
    if not package or package not in phone.installed_packages:
        return _text("** No activities found to run, monkey aborted.\n", 252)
    apps.launch(phone, package)
    return _text("Events injected: 1\n## Network stats: elapsed time=12ms\n")


_KEYCODES = {"4": "BACK", "KEYCODE_BACK": "BACK", "BACK": "BACK", "3": "HOME", "KEYCODE_HOME": "HOME",
             "HOME": "HOME", "67": "DEL", "KEYCODE_DEL": "DEL", "66": "ENTER", "KEYCODE_ENTER": "ENTER"}


def _input(phone, args, stdin) -> Output:
    if not args:
        return _text("Usage: input [<source>] <command> [<arg>...]\n", 1)
    command, rest = args[0], args[1:]
    if command == "tap" and len(rest) == 2:
        apps.tap(phone, int(float(rest[0])), int(float(rest[1])))
    elif command == "text" and rest:
        # `input text` turns %s into a space; everything else is typed as is.
        text = " ".join(rest).replace("%s", " ")
        if not text.isascii():
            return _text("", 0)  # the real key map silently drops what it cannot type
        apps.type_text(phone, text)
        phone.typed.append(text)
    elif command == "keyevent" and rest:
        key = _KEYCODES.get(rest[0].upper(), rest[0])
        if key == "BACK":
            apps.press_back(phone)
        elif key == "HOME":
            phone.screen = apps.Screen()
        elif key == "DEL":
            apps.delete_character(phone)
    elif command == "swipe" and len(rest) >= 4:
        feed_ui.swipe(phone, *(int(float(value)) for value in rest[:4]))
    else:
        return _text(f"Error: Unknown command: {command}\n", 1)
    return _text("")


def _uiautomator(phone, args, stdin) -> Output:
    if not args or args[0] != "dump":
        return _text("Usage: uiautomator <subcommand> [options]\n", 1)
    paths = [arg for arg in args[1:] if not arg.startswith("--")]
    path = paths[0] if paths else "/sdcard/window_dump.xml"
    if phone.take_dump_failure() or _feed_never_idles(phone, "--compressed" in args):
        return _text("ERROR: could not get idle state.\n", 0)
    phone.fs.write(path, apps.to_xml(apps.render(phone), phone.screen.package).encode())
    return _text(f"UI hierchary dumped to: {path}\n")


def _feed_never_idles(phone, compressed: bool) -> bool:
    # A playing video keeps the screen busy: a plain dump times out waiting for idle
    # (once per feed here, so retries get through), unless the feed is set to always fail.
    screen = phone.screen
    if not feed_ui.is_video_screen(screen):
        return False
    if phone.feed_dump_always_fails:
        return True
    if not compressed and not screen.plain_dump_failed:
        screen.plain_dump_failed = True
        return True
    return False


def _content(phone, args, stdin) -> Output:
    return _text(*media.content_command(phone, args))


def _screencap(phone, args, stdin) -> Output:
    paths = [arg for arg in args if not arg.startswith("-")]
    png = tiny_png()
    if paths:
        phone.fs.write(paths[0], png)
        return _text("")
    return png, 0


def tiny_png(width: int = 108, height: int = 240) -> bytes:
    """A valid grey PNG, so screenshot decoders have something real to open."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _log(phone, args, stdin) -> Output:
    tag, words, i = "log", [], 0
    while i < len(args):
        if args[i] in ("-t", "-p") and i + 1 < len(args):
            if args[i] == "-t":
                tag = args[i + 1]
            i += 2
        else:
            words.append(args[i])
            i += 1
    phone.record_log(tag, " ".join(words))
    return _text("")


def _rm(phone, args, stdin) -> Output:
    flags = "".join(arg[1:] for arg in args if arg.startswith("-"))
    output = []
    for path in (arg for arg in args if not arg.startswith("-")):
        if phone.fs.is_dir(path):
            if "r" in flags:
                phone.fs.remove_tree(path)
            else:
                output.append(f"rm: {path}: is a directory\n")
        elif not phone.fs.remove(path) and "f" not in flags:
            output.append(f"rm: {path}: No such file or directory\n")
    return _text("".join(output), 1 if output else 0)


def _echo(phone, args, stdin) -> Output:
    return _text(" ".join(args) + "\n")


def _cat(phone, args, stdin) -> Output:
    if not args:
        return stdin, 0
    data = phone.fs.read(args[0])
    if data is None:
        return _text(f"cat: {args[0]}: No such file or directory\n", 1)
    return data, 0


def _grep(phone, args, stdin) -> Output:
    pattern = next((arg for arg in args if not arg.startswith("-")), "")
    lines = [line for line in stdin.decode(errors="replace").splitlines(keepends=True) if pattern in line]
    return _text("".join(lines), 0 if lines else 1)


def _sleep(phone, args, stdin) -> Output:
    time.sleep(min(float(args[0]) if args else 0, 5))
    return _text("")


def _wm(phone, args, stdin) -> Output:
    if args[:1] == ["size"]:
        return _text(f"Physical size: {apps.SCREEN_WIDTH}x{apps.SCREEN_HEIGHT}\n")
    if args[:1] == ["density"]:
        return _text("Physical density: 420\n")
    return _text("")


def _true(phone, args, stdin) -> Output:
    return _text("")


def _false(phone, args, stdin) -> Output:
    return _text("", 1)


def _settings(phone, args, stdin) -> Output:
    return _text("null\n" if args[:1] == ["get"] else "")


_COMMANDS: dict[str, Callable[..., Output]] = {
    "getprop": _getprop, "pm": _pm, "am": _am, "monkey": _monkey, "input": _input,
    "uiautomator": _uiautomator, "screencap": _screencap, "log": _log, "rm": _rm, "echo": _echo,
    "cat": _cat, "grep": _grep, "sleep": _sleep, "wm": _wm, "true": _true, "false": _false,
    "settings": _settings, "content": _content, "dumpsys": _true, "ime": _true, "mkdir": _true, "chmod": _true,
}
