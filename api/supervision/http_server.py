"""The API's waitress server: poll() not select(), a connection limit under the file limit, a cap per client, restarted alone."""

from __future__ import annotations

import logging
import resource
import time
from typing import Callable, Optional, Protocol

import waitress
from waitress import wasyncore
from waitress.server import BaseWSGIServer

log = logging.getLogger("phonefarm")
# Descriptors left to the rest of the process: the index, Prefect's clients, logs, the children's pipes.
SPARE_FILES = 256
BACKOFF_MAX_SECONDS = 30.0
STEADY_SECONDS = 60.0  # a server that ran this long before dying starts its back-off again


class Server(Protocol):
    def run(self) -> None: ...


def raise_file_limit() -> int:
    """The soft limit of open files raised to the hard one (each connection is a descriptor); the limit in effect."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if wanted > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:
            log.warning("open files stay limited to %d (%s)", soft, error)
    return soft


def connection_limits(wanted: int, open_files: int) -> tuple[int, int]:
    """(connections in all, connections of one client address): under the file limit, so that
    accept() never fails for want of a descriptor, and one client cannot take them all."""
    total = max(10, min(wanted, open_files - SPARE_FILES))
    return total, max(16, total // 8)


class PerClientCap:
    """Stands for waitress's channel class: a connection beyond its address's share is closed at once
    (waitress has no such option; it keeps a connection until it idles out, whoever holds the rest)."""

    def __init__(self, channel_class: type, per_client: int):
        self.channel_class = channel_class
        self.per_client = per_client

    def __call__(self, server, conn, addr, adj, map=None):  # noqa: A002  (waitress's own name)
        host = addr[0] if isinstance(addr, tuple) else addr
        held = sum(1 for channel in (map or {}).values()
                   if isinstance(channel, self.channel_class) and _host(channel.addr) == host)
        if held >= self.per_client:
            conn.close()
            return None
        return self.channel_class(server, conn, addr, adj, map=map)


def _host(addr) -> object:
    return addr[0] if isinstance(addr, tuple) else addr


def create(app, *, host: str, port: int, threads: int, connection_limit: int, idle_seconds: int,
           max_body_bytes: int, open_files: Optional[int] = None):
    """waitress, tuned so that slow or large clients cannot starve the rest. Connections that only
    trickle their headers cost a socket in waitress's event loop, never a thread: allow many (poll()
    takes any descriptor, select() none above 1023), close idle ones soon, and give no client more
    than its share. A body is buffered before the app sees it: a little over the limit the app still
    refuses it with the envelope (40001); beyond, waitress answers 413 itself without buffering more."""
    total, per_client = connection_limits(connection_limit, open_files or raise_file_limit())
    server = waitress.create_server(
        app, host=host, port=port, threads=threads, asyncore_use_poll=True,
        connection_limit=total, channel_timeout=idle_seconds, cleanup_interval=max(1, idle_seconds // 2),
        max_request_body_size=max_body_bytes + 64 * 1024,
    )
    for dispatcher in list(_socket_map(server).values()):
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = PerClientCap(dispatcher.channel_class, per_client)
    return server


def _socket_map(server) -> dict:
    return server.map if hasattr(server, "map") else server._map


def close(server) -> None:
    """The server's threads, listening sockets and every connection."""
    server.task_dispatcher.shutdown(timeout=5)
    wasyncore.close_all(_socket_map(server), ignore_all=True)


def serve_forever(make_server: Callable[[], Server], *, sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> None:
    """Serve until a stop (waitress returns on SIGINT/SIGTERM's KeyboardInterrupt). A server that
    dies is made anew with a back-off, like a child process: the farm's runs go on meanwhile."""
    failures = 0
    while True:
        started = clock()
        server = None
        try:
            server = make_server()
            server.run()
            return
        except Exception:
            log.exception("the API server stopped; it starts again")
        finally:
            if server is not None:
                close(server)
        failures = 1 if clock() - started >= STEADY_SECONDS else failures + 1
        sleep(0.0 if failures == 1 else min(BACKOFF_MAX_SECONDS, 2.0 ** (failures - 1)))
