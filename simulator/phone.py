"""One simulated phone: its apps, accounts, follow state, files, activity log and injectable faults."""

from __future__ import annotations

import random
import re
import socket
import threading
import time

from simulator import apps, interruptions, locales, screenshot, shell, versions
from simulator.display import INSTAGRAM, TIKTOK, Screen, to_xml
from simulator.filesystem import VirtualFilesystem
from simulator.media import MediaStore
from simulator.protocol import CableUnplugged

_FEATURES = "shell_v2,cmd,fixed_push_mkdir,fixed_push_symlink_timestamp"
# The real-phone quirks a farm can switch on for its phones (attributes of SimulatedPhone).
QUIRKS = ("video_blocks_dumps", "video_dump_stall_seconds", "first_dump_seconds")
_MARKER = re.compile(r"task (\d+) (start|end)$")


class SimulatedPhone:
    """State that survives reconnects; every public method is safe to call from any thread."""

    def __init__(self, name: str = "sim1", *, model: str = "Pixel 7 (simulated)",
                 installed_packages: tuple[str, ...] = (TIKTOK, INSTAGRAM), locale: str = "en",
                 app_version: str = versions.DEFAULT):
        self.lock = threading.RLock()
        self.name = name
        self.model = model
        self.locale = locales.check(locale)  # the apps' language; a test may change it at any time
        self.app_version = versions.check(app_version)  # which TikTok build's resource-ids the screens carry
        self.installed_packages: set[str] = set(installed_packages)
        self.accounts: dict[str, list[str]] = {
            "tiktok": [f"{name}_tt_a", f"{name}_tt_b"],
            "instagram": [f"{name}_ig_a", f"{name}_ig_b"],
        }
        self.logged_in: dict[str, str] = {platform: names[0] for platform, names in self.accounts.items()}
        self.followed: dict[tuple[str, str], set[str]] = {}
        self._screen = Screen()
        # Interruptions: at each change to an app screen, one from the catalogue with this probability.
        self.interruption_rate = 0.0
        self.interruption_rng = random.Random()
        self.seed_interruptions(interruptions.DEFAULT_SEED)
        self.interruption: interruptions.Interruption | None = None  # the dialog over the screen now
        self.blocking: interruptions.Interruption | None = None  # stays until the test clears it
        self.interruptions_shown: list[str] = []  # every dialog that appeared, by name
        self.fs = VirtualFilesystem()
        self.fs.write("/sdcard/DCIM/Camera/existing.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
        self.media_store = MediaStore()
        self.media_store.scan(self.fs)  # what was on the phone before is already indexed
        self.pending_upload: dict | None = None
        self.upload_seconds: float = 0.5
        self.sound_load_seconds: float = 0.3
        # Append-only records a test can inspect.
        self.commands: list[tuple[float, list[str]]] = []  # each simple command that ran, as argv
        self.markers: list[tuple[float, str, str]] = []    # (time, tag, message) from `log`
        self.published: list[dict] = []  # platform, account, caption, media, placement, sound, volumes
        # (time.monotonic(), what) of each engagement and post: the markers' clock, so a checker can tell
        # which run did it.
        self.actions: list[tuple[float, str]] = []
        self.engagements: list[tuple[str, str, str, str, str]] = []  # (platform, account, kind, item, text)
        self.watched: list[tuple[str, str, str]] = []  # (platform, account, creator) per video swiped past
        self.searched_topics: list[str] = []
        # Faults.
        self.missing_users: set[str] = set()
        self.missing_posts: set[str] = set()  # the last part of a post URL that shows "unavailable"
        self.profile_load_seconds: float = 0.0
        self.disconnect_after_commands: int | None = None
        self.dump_failures: int = 0
        self.upload_never_finishes: bool = False
        self.logged_out: set[str] = set()  # accounts whose session expired: the app shows a login screen
        self.feed_dump_always_fails: bool = False  # even --compressed dumps fail on a playing feed
        # Quirks of real phones, off by default: every dump of a playing video fails (after stalling this
        # long, as uiautomator waits for an idle state) until a tap on the video pauses it; the first dump
        # after a screen opens takes first_dump_seconds. `slow_dumps` lists the screens whose first dump was slow.
        self.video_blocks_dumps: bool = False
        # health a test may set: what `dumpsys battery` and `df -k /data` print
        self.battery_level: int = 87
        self.battery_temperature_c: float = 31.2
        self.charging: bool = True
        self.free_storage_mb: int = 35000
        self.video_dump_stall_seconds: float = 0.0
        self.first_dump_seconds: float = 0.0
        self.slow_dumps: list[str] = []
        self._first_dump_pending = False
        self.unplugged_seconds: float = 2.0
        self._unplugged_until = 0.0
        self._sockets: set[socket.socket] = set()

    @property
    def screen(self) -> Screen:
        return self._screen

    @screen.setter
    def screen(self, screen: Screen) -> None:
        changed = screen is not self._screen
        self._screen = screen
        if changed:
            self._first_dump_pending = True
        if screen.package is None:
            self.interruption = None  # leaving the app closes its dialog
        elif changed and self.interruption is None:
            platform = "tiktok" if screen.package != INSTAGRAM else "instagram"
            self.interruption = interruptions.roll(self.interruption_rng, self.interruption_rate, platform)
            if self.interruption:
                self.interruptions_shown.append(self.interruption.name)

    # ------------------------------------------------------------ adb-facing

    def banner(self) -> str:
        props = self.properties()
        return (f"device::ro.product.name={props['ro.product.name']};"
                f"ro.product.model={props['ro.product.model']};"
                f"ro.product.device={props['ro.product.device']};features={_FEATURES}")

    def dumpsys_battery(self) -> str:
        return (f"Current Battery Service state:\n  AC powered: false\n  USB powered: {str(self.charging).lower()}\n"
                f"  Wireless powered: false\n  status: {2 if self.charging else 3}\n  present: true\n"
                f"  level: {self.battery_level}\n  scale: 100\n  temperature: {round(self.battery_temperature_c * 10)}\n")

    def df_data(self) -> str:
        free_kb = self.free_storage_mb * 1024
        return f"Filesystem     1K-blocks    Used Available Use% Mounted on\n/dev/block/dm-5 {free_kb * 2} {free_kb} {free_kb}  50% /data\n"

    def properties(self) -> dict[str, str]:
        return {"ro.product.model": self.model, "ro.product.name": "sim_" + self.name,
                "ro.product.device": "simulator", "ro.product.manufacturer": "PhoneFarmSim",
                "ro.build.version.release": "13", "ro.build.version.sdk": "33",
                "ro.serialno": self.name, "persist.sys.locale": locales.SYSTEM_LOCALE[self.locale]}

    def run_shell(self, line: str) -> tuple[bytes, int]:
        """Entry point for shell services; may pull the cable instead of answering."""
        with self.lock:
            if self.disconnect_after_commands is not None:
                if self.disconnect_after_commands <= 0:
                    self.disconnect_after_commands = None
                    self.unplug()
                    raise CableUnplugged(line)
                self.disconnect_after_commands -= 1
            return shell.run(self, line)

    def attach(self, sock: socket.socket) -> bool:
        """Accept a connection from the adb server unless the cable is out."""
        with self.lock:
            if not self.plugged_in():
                return False
            self._sockets.add(sock)
            return True

    def detach(self, sock: socket.socket) -> None:
        with self.lock:
            self._sockets.discard(sock)

    def plugged_in(self) -> bool:
        return time.monotonic() >= self._unplugged_until

    def unplug(self, seconds: float | None = None) -> None:
        """Drop every connection and refuse new ones for a while, like pulling the USB cable."""
        with self.lock:
            self._unplugged_until = time.monotonic() + (self.unplugged_seconds if seconds is None else seconds)
            for sock in list(self._sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._sockets.clear()

    def plug_in(self) -> None:
        with self.lock:
            self._unplugged_until = 0.0

    # ------------------------------------------------------------ what the shell's app commands see

    def window_xml(self) -> str:
        return to_xml(apps.render(self), self.screen.package)

    def screenshot_png(self) -> bytes:
        return screenshot.render_png(apps.render(self), app=self.screen.package is not None)

    def tap(self, x: int, y: int) -> None:
        apps.tap(self, x, y)

    def press_back(self) -> None:
        apps.press_back(self)

    def package_version(self, package: str) -> str | None:
        """The versionName `dumpsys package` reports: TikTok's simulated build; Instagram's is not simulated."""
        return self.app_version if package in self.installed_packages and package != INSTAGRAM else None

    def dump_delay(self) -> float:
        """How long this dump takes before it answers: the first after a screen opened is slow."""
        pending, self._first_dump_pending = self._first_dump_pending, False
        if pending and self.first_dump_seconds > 0:
            self.slow_dumps.append(self.screen.name)
            return self.first_dump_seconds
        return 0.0

    # ------------------------------------------------------------ used by shell and apps

    def record_command(self, argv: list[str]) -> None:
        self.commands.append((time.monotonic(), list(argv)))

    def record_log(self, tag: str, message: str) -> None:
        self.markers.append((time.monotonic(), tag, message))

    def take_dump_failure(self) -> bool:
        if self.dump_failures > 0:
            self.dump_failures -= 1
            return True
        return False

    def user_exists(self, user: str | None) -> bool:
        return bool(user) and user.lower() not in {name.lower() for name in self.missing_users}

    def is_following(self, platform: str, user: str | None) -> bool:
        with self.lock:
            return user in self.followed.get((platform, self.logged_in[platform]), set())

    def set_following(self, platform: str, user: str, following: bool) -> None:
        with self.lock:
            followed = self.followed.setdefault((platform, self.logged_in[platform]), set())
            (followed.add if following else followed.discard)(user)

    def record_engagement(self, platform: str, account: str, kind: str, item: str, text: str = "") -> None:
        with self.lock:
            self.engagements.append((platform, account, kind, item, text))
            self.actions.append((time.monotonic(), f"{kind} {item} as {platform}/{account}"))

    def record_publish(self, post: dict) -> None:
        with self.lock:
            self.published.append(post)
            self.actions.append((time.monotonic(), "post"))

    def has_engaged(self, platform: str, account: str, kind: str, item: str) -> bool:
        with self.lock:
            return any(entry[:4] == (platform, account, kind, item) for entry in self.engagements)

    def comments_on(self, platform: str, item: str) -> list[str]:
        """Every account's comments on a video or post, oldest first."""
        with self.lock:
            return [text for p, _account, kind, entry, text in self.engagements
                    if (p, kind, entry) == (platform, "comment", item)]

    def record_watched(self, platform: str, account: str, creator: str) -> None:
        with self.lock:
            self.watched.append((platform, account, creator))

    # ------------------------------------------------------------ for tests

    def seed_interruptions(self, seed: int) -> None:
        """Same seed, same phone name: the same interruptions at the same screen changes."""
        self.interruption_rng.seed(f"{seed}/{self.name}")

    def block(self, name: str, platform: str = "tiktok") -> None:
        """Show a blocking dialog (captcha, too_fast, banned) over every screen until `unblock`."""
        with self.lock:
            self.blocking = interruptions.find(platform, name, blocking=True)
            self.interruptions_shown.append(name)

    def unblock(self) -> None:
        with self.lock:
            self.blocking = None

    def engaged(self, kind: str, platform: str, account: str | None = None) -> list[tuple[str, str]]:
        """(item, text) of every like / follow / bookmark / comment by the account (default: active)."""
        with self.lock:
            account = account or self.logged_in[platform]
            return [(item, text) for p, a, k, item, text in self.engagements
                    if (p, a, k) == (platform, account, kind)]

    def following(self, platform: str, account: str | None = None) -> set[str]:
        with self.lock:
            return set(self.followed.get((platform, account or self.logged_in[platform]), set()))

    def task_intervals(self) -> list[tuple[int, float, float | None]]:
        """(task_id, start, end) from `log -t phonefarm "task N start|end"` markers, by start time;
        end is None for a task that has not ended, or whose process was killed before it could say so."""
        with self.lock:
            starts: dict[int, float] = {}
            intervals = []
            for moment, tag, message in self.markers:
                match = _MARKER.match(message) if tag == "phonefarm" else None
                if not match:
                    continue
                task_id = int(match.group(1))
                if match.group(2) == "start":
                    starts[task_id] = moment
                elif task_id in starts:
                    intervals.append((task_id, starts.pop(task_id), moment))
            intervals.extend((task_id, start, None) for task_id, start in starts.items())
            return sorted(intervals, key=lambda interval: interval[1])
