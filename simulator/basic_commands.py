"""The plain commands of the simulated phone's sh: file tools, properties, logging, screenshots, media queries."""

from __future__ import annotations

import time
from typing import Callable

from simulator import media
from simulator.display import SCREEN_HEIGHT, SCREEN_WIDTH

# What a command gives back: its output (stdout and stderr together) and its exit status.
Output = tuple[bytes, int]
Command = Callable[..., Output]  # (phone, args, stdin) -> Output


def reply(text: str, status: int = 0) -> Output:
    return text.encode(), status


def _getprop(phone, args, stdin) -> Output:
    props = phone.properties()
    if args:
        return reply(props.get(args[0], "") + "\n")
    return reply("".join(f"[{key}]: [{value}]\n" for key, value in sorted(props.items())))


def _pm(phone, args, stdin) -> Output:
    if args[:2] == ["list", "packages"]:
        filters = [arg for arg in args[2:] if not arg.startswith("-")]
        packages = sorted(phone.installed_packages)
        return reply("".join(f"package:{name}\n" for name in packages
                             if not filters or filters[0] in name))
    if args[:1] == ["path"] and len(args) > 1:
        if args[1] in phone.installed_packages:
            return reply(f"package:/data/app/{args[1]}-1/base.apk\n")
        return reply("", 1)
    return reply(f"Unknown command: {' '.join(args[:1])}\n", 1)


def _content(phone, args, stdin) -> Output:
    return reply(*media.content_command(phone, args))


def _screencap(phone, args, stdin) -> Output:
    paths = [arg for arg in args if not arg.startswith("-")]
    png = phone.screenshot_png()
    if paths:
        phone.fs.write(paths[0], png)
        return reply("")
    return png, 0


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
    return reply("")


def _logcat(phone, args, stdin) -> Output:
    """`logcat -d [-v epoch] [-s TAG...]`: the lines `log` wrote, in threadtime or epoch format."""
    if "-d" not in args:
        return reply("logcat: only a dump (-d) is simulated\n", 1)
    epoch = "epoch" in [args[i + 1] for i in range(len(args) - 1) if args[i] == "-v"]
    tags = {args[i + 1].split(":")[0] for i in range(len(args) - 1) if args[i] == "-s"}
    to_wall_clock = time.time() - time.monotonic()  # the markers are on the monotonic clock
    lines = []
    for moment, tag, message in list(phone.markers):
        if tags and tag not in tags:
            continue
        wall = moment + to_wall_clock
        stamp = (f"{wall:17.3f}" if epoch else
                 time.strftime("%m-%d %H:%M:%S", time.localtime(wall)) + f".{int(wall % 1 * 1000):03d}")
        lines.append(f"{stamp}  1000  1000 I {tag}: {message}\n")
    return reply("".join(lines))


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
    return reply("".join(output), 1 if output else 0)


def _echo(phone, args, stdin) -> Output:
    return reply(" ".join(args) + "\n")


def _cat(phone, args, stdin) -> Output:
    if not args:
        return stdin, 0
    data = phone.fs.read(args[0])
    if data is None:
        return reply(f"cat: {args[0]}: No such file or directory\n", 1)
    return data, 0


def _grep(phone, args, stdin) -> Output:
    pattern = next((arg for arg in args if not arg.startswith("-")), "")
    lines = [line for line in stdin.decode(errors="replace").splitlines(keepends=True) if pattern in line]
    return reply("".join(lines), 0 if lines else 1)


def _sleep(phone, args, stdin) -> Output:
    time.sleep(min(float(args[0]) if args else 0, 5))
    return reply("")


def _wm(phone, args, stdin) -> Output:
    if args[:1] == ["size"]:
        return reply(f"Physical size: {SCREEN_WIDTH}x{SCREEN_HEIGHT}\n")
    if args[:1] == ["density"]:
        return reply("Physical density: 420\n")
    return reply("")


def _true(phone, args, stdin) -> Output:
    return reply("")


def _false(phone, args, stdin) -> Output:
    return reply("", 1)


def _dumpsys(phone, args, stdin) -> Output:
    if args == ["battery"]:
        return reply(phone.dumpsys_battery())
    version = phone.package_version(args[1]) if args[:1] == ["package"] and len(args) > 1 else None
    return reply(f"Packages:\n  Package [{args[1]}]:\n    versionName={version}\n" if version else "")


def _df(phone, args, stdin) -> Output:
    return reply(phone.df_data())


def _settings(phone, args, stdin) -> Output:
    return reply("null\n" if args[:1] == ["get"] else "")


COMMANDS: dict[str, Command] = {
    "getprop": _getprop, "pm": _pm, "content": _content, "screencap": _screencap, "log": _log, "logcat": _logcat, "rm": _rm,
    "echo": _echo, "cat": _cat, "grep": _grep, "sleep": _sleep, "wm": _wm, "true": _true, "false": _false,
    "settings": _settings, "dumpsys": _dumpsys, "ime": _true, "mkdir": _true, "chmod": _true,
    "df": _df,
}
