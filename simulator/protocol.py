"""Device side of the adb transport: message framing and the per-connection stream multiplexer."""

from __future__ import annotations

import itertools
import socket
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

A_CNXN = 0x4E584E43
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_WRTE = 0x45545257
A_CLSE = 0x45534C43

# 0x01000001 lets both ends skip payload checksums; we still fill them in for older hosts.
A_VERSION = 0x01000001
MAX_PAYLOAD = 256 * 1024
HEADER = struct.Struct("<6I")


@dataclass(frozen=True)
class Message:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""


def pack_message(command: int, arg0: int, arg1: int, data: bytes = b"") -> bytes:
    # adbd's "checksum" is the plain byte sum of the payload, not a CRC.
    checksum = sum(data) & 0xFFFFFFFF
    return HEADER.pack(command, arg0, arg1, len(data), checksum, command ^ 0xFFFFFFFF) + data


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def read_message(sock: socket.socket) -> Message | None:
    """Read one message; None when the host hung up."""
    header = _recv_exactly(sock, HEADER.size)
    if header is None:
        return None
    command, arg0, arg1, length, _checksum, magic = HEADER.unpack(header)
    if magic != command ^ 0xFFFFFFFF:
        raise ConnectionError(f"bad adb message magic {magic:#x} for command {command:#x}")
    data = _recv_exactly(sock, length) if length else b""
    if data is None:
        return None
    return Message(command, arg0, arg1, data)


class CableUnplugged(Exception):
    """Raised by a service to make the connection drop like a pulled USB cable."""


class Service(Protocol):
    def start(self, stream: "Stream") -> None: ...

    def on_data(self, stream: "Stream", data: bytes) -> None: ...


@dataclass
class Stream:
    """One adb stream: outgoing data waits for the host's OKAY before the next WRTE."""

    local_id: int
    remote_id: int
    service: Service
    send: Callable[[bytes], None]
    max_payload: int
    pending: deque = field(default_factory=deque)
    awaiting_ack: bool = False
    closing: bool = False
    closed: bool = False

    def write(self, data: bytes) -> None:
        for start in range(0, len(data), self.max_payload):
            self.pending.append(data[start:start + self.max_payload])
        self.flush()

    def close(self) -> None:
        self.closing = True
        self.flush()

    def acknowledged(self) -> None:
        self.awaiting_ack = False
        self.flush()

    def flush(self) -> None:
        if self.closed or self.awaiting_ack:
            return
        if self.pending:
            self.awaiting_ack = True
            self.send(pack_message(A_WRTE, self.local_id, self.remote_id, self.pending.popleft()))
        elif self.closing:
            self.closed = True
            self.send(pack_message(A_CLSE, self.local_id, self.remote_id))


class DeviceConnection:
    """Serves one TCP connection from the adb server until it hangs up or the cable is pulled."""

    def __init__(self, sock: socket.socket, banner: str,
                 open_service: Callable[[str], Service | None]):
        self._sock = sock
        self._banner = banner.encode()
        self._open_service = open_service
        self._streams: dict[int, Stream] = {}
        self._next_local_id = itertools.count(1)
        self._max_payload = MAX_PAYLOAD

    def serve(self) -> None:
        try:
            while True:
                message = read_message(self._sock)
                if message is None:
                    return
                self._handle(message)
        except (OSError, ConnectionError, CableUnplugged):
            return
        finally:
            _hard_close(self._sock)

    def _send(self, packet: bytes) -> None:
        self._sock.sendall(packet)

    def _handle(self, message: Message) -> None:
        if message.command == A_CNXN:
            self._max_payload = max(4096, min(message.arg1, MAX_PAYLOAD))
            self._streams.clear()
            self._send(pack_message(A_CNXN, A_VERSION, MAX_PAYLOAD, self._banner))
        elif message.command == A_OPEN:
            self._open(message.arg0, message.data.rstrip(b"\0").decode("utf-8", "replace"))
        elif message.command == A_OKAY:
            stream = self._streams.get(message.arg1)
            if stream:
                stream.acknowledged()
                self._forget_if_closed(stream)
        elif message.command == A_WRTE:
            stream = self._streams.get(message.arg1)
            if stream is None:
                self._send(pack_message(A_CLSE, 0, message.arg0))
                return
            # Every WRTE needs an OKAY or the host stops sending on this stream.
            self._send(pack_message(A_OKAY, stream.local_id, stream.remote_id))
            stream.service.on_data(stream, message.data)
            self._forget_if_closed(stream)
        elif message.command == A_CLSE:
            self._streams.pop(message.arg1, None)
        # AUTH and anything else are ignored: we never ask the host to authenticate.

    def _open(self, remote_id: int, destination: str) -> None:
        service = self._open_service(destination)
        if service is None:
            self._send(pack_message(A_CLSE, 0, remote_id))
            return
        stream = Stream(next(self._next_local_id), remote_id, service, self._send, self._max_payload)
        self._streams[stream.local_id] = stream
        self._send(pack_message(A_OKAY, stream.local_id, remote_id))
        service.start(stream)
        self._forget_if_closed(stream)

    def _forget_if_closed(self, stream: Stream) -> None:
        if stream.closed:
            self._streams.pop(stream.local_id, None)


def _hard_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
