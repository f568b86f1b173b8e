"""The adb services a simulated phone offers: shell (v1 and v2) and sync (push, pull, stat, list)."""

from __future__ import annotations

import struct
from typing import Callable

from simulator.filesystem import VirtualFilesystem
from simulator.protocol import Service, Stream

RunShell = Callable[[str], tuple[bytes, int]]

_SYNC_DATA_CHUNK = 64 * 1024


class ShellService:
    """`shell:` sends the raw output, then closes: the exit code is lost, as on a real phone.
    `shell,v2:` frames output as (id, little-endian length, data); a packet with id 3 carries the exit code."""

    def __init__(self, command: str, run_shell: RunShell, *, v2: bool):
        self._command = command
        self._run_shell = run_shell
        self._v2 = v2

    def start(self, stream: Stream) -> None:
        output, exit_code = self._run_shell(self._command)
        if not self._v2:
            stream.write(output)
        else:
            if output:
                stream.write(_shell_packet(1, output))
            stream.write(_shell_packet(3, bytes([exit_code & 0xFF])))
        stream.close()

    def on_data(self, stream: Stream, data: bytes) -> None:
        pass  # stdin and v2's window-size packets: nothing we simulate reads them


def _shell_packet(packet_id: int, data: bytes) -> bytes:
    return bytes([packet_id]) + struct.pack("<I", len(data)) + data


class SyncService:
    """`sync:` — requests may arrive split across WRTEs, so bytes are buffered until whole."""

    def __init__(self, fs: VirtualFilesystem):
        self._fs = fs
        self._buffer = bytearray()
        self._upload: tuple[str, int] | None = None
        self._upload_data = bytearray()

    def start(self, stream: Stream) -> None:
        pass

    def on_data(self, stream: Stream, data: bytes) -> None:
        self._buffer += data
        while not stream.closing and self._handle_one(stream):
            pass

    def _handle_one(self, stream: Stream) -> bool:
        if len(self._buffer) < 8:
            return False
        request = bytes(self._buffer[:4]).decode("ascii", "replace")
        length = struct.unpack("<I", self._buffer[4:8])[0]
        if self._upload is not None:
            return self._handle_upload(stream, request, length)
        if len(self._buffer) < 8 + length:
            return False
        argument = bytes(self._buffer[8:8 + length]).decode("utf-8", "replace")
        del self._buffer[:8 + length]
        if request == "STAT":
            found = self._fs.stat(argument)
            stream.write(b"STAT" + struct.pack("<III", *(
                (found.mode, found.size, found.mtime) if found else (0, 0, 0))))
        elif request == "LIST":
            for name, child in self._fs.list_dir(argument).items():
                encoded = name.encode()
                stream.write(b"DENT" + struct.pack("<IIII", child.mode, child.size, child.mtime,
                                                   len(encoded)) + encoded)
            stream.write(b"DONE" + bytes(16))
        elif request == "RECV":
            self._send_file(stream, argument)
        elif request == "SEND":
            path, _, mode = argument.rpartition(",")
            self._upload = (path or argument, int(mode) if mode.isdigit() else 0o644)
            self._upload_data = bytearray()
        elif request == "QUIT":
            stream.close()
        else:
            self._fail(stream, f"unsupported sync request {request!r}")
        return True

    def _handle_upload(self, stream: Stream, request: str, length: int) -> bool:
        if request == "DATA":
            if len(self._buffer) < 8 + length:
                return False
            self._upload_data += self._buffer[8:8 + length]
            del self._buffer[:8 + length]
        elif request == "DONE":
            del self._buffer[:8]
            path, mode = self._upload
            if self._fs.is_dir(path):
                self._fail(stream, f"{path}: is a directory")
            else:
                self._fs.write(path, bytes(self._upload_data), mode)
                stream.write(b"OKAY" + bytes(4))
            self._upload = None
        else:
            self._fail(stream, f"unexpected {request!r} during SEND")
        return True

    def _send_file(self, stream: Stream, path: str) -> None:
        data = self._fs.read(path)
        if data is None:
            self._fail(stream, "No such file or directory", close=False)
            return
        for start in range(0, len(data), _SYNC_DATA_CHUNK):
            chunk = data[start:start + _SYNC_DATA_CHUNK]
            stream.write(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
        stream.write(b"DONE" + bytes(4))

    def _fail(self, stream: Stream, reason: str, *, close: bool = True) -> None:
        encoded = reason.encode()
        stream.write(b"FAIL" + struct.pack("<I", len(encoded)) + encoded)
        if close:
            stream.close()


def open_service(destination: str, run_shell: RunShell, fs: VirtualFilesystem) -> Service | None:
    """Map an OPEN destination to a service; None makes the host see the stream refused."""
    options, colon, command = destination.partition(":")
    if colon and (options == "shell" or options.startswith("shell,")):
        # Options such as "v2", "raw" or "TERM=xterm" sit between "shell," and the ":".
        return ShellService(command, run_shell, v2="v2" in options.split(",")[1:])
    if destination.startswith("sync:"):
        return SyncService(fs)
    return None
