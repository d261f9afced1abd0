"""Running the service: uvicorn with trustkit's limits, in one process or several.

:class:`ServerLimits` bounds the request head, the time a client may take to
send a whole request (a silent or trickling client is disconnected), idle
keep-alive connections and the number of connections. :func:`serve` runs
uvicorn with httptools and uvloop when they are installed, in one process or
several (``workers``) sharing one socket.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette

from ..errors import ConfigError

__all__ = ["ServerLimits", "serve"]


@dataclass(frozen=True)
class ServerLimits:
    """How much a client may ask of the server (uvicorn settings and trustkit's own)."""

    request_timeout: float = 10.0
    """Seconds a client may take to send one whole request, head and body, from the moment
    it connects or its previous response was sent; then the connection is closed."""
    keep_alive_timeout: float = 5.0
    """Seconds an idle keep-alive connection is kept open."""
    max_head_bytes: int = 16 * 1024
    """Largest request line plus headers; more is answered 400 and the connection closed."""
    max_connections: int = 1000
    """Connections (and requests in progress) at once; more are answered 503."""


def _protocol(limits: ServerLimits) -> type[asyncio.Protocol] | str:
    """uvicorn's httptools protocol with ``limits`` on the request head and its time.

    Without httptools: uvicorn's h11 protocol, whose head limit is
    ``h11_max_incomplete_event_size`` (no time limit on a request).
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "h11"

    class GuardedProtocol(HttpToolsProtocol):
        _head_bytes = 0
        _deadline: asyncio.TimerHandle | None = None
        _input_ended = False

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(limits.request_timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        def _count(self, size: int) -> None:
            self._head_bytes += size
            if self._head_bytes > limits.max_head_bytes:
                # Raised out of the parser callback: uvicorn answers 400 and closes.
                raise ValueError(f"request head over {limits.max_head_bytes} bytes")

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_bytes = 0
            self._arm()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def eof_received(self) -> bool | None:  # type: ignore[override]
            # A client may shut its sending side once the request is out (as
            # HTTP/1.0 clients and `nc -N` do). The answer is made in a worker
            # thread and may not be ready yet: keep the connection open to send
            # it, then close. With no request in progress, close at once.
            self._input_ended = True
            cycle = self.cycle
            if cycle is None or cycle.response_complete:
                return None
            return True

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._input_ended and self.cycle is not None and self.cycle.response_complete:
                # Nothing more can arrive; a pipelined request started above ends
                # here again when its own response is complete.
                self.transport.close()
            elif not self.transport.is_closing():
                self._arm()  # the next request (or nothing) within the limit too

    return GuardedProtocol


def _uvicorn_config(app: Any, host: str, port: int, limits: ServerLimits) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="auto",  # uvloop when installed
        http=_protocol(limits),
        timeout_keep_alive=max(1, round(limits.keep_alive_timeout)),
        limit_concurrency=limits.max_connections,
        h11_max_incomplete_event_size=limits.max_head_bytes,
    )


def serve(
    app: Starlette | Callable[[], Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    limits: ServerLimits | None = None,
) -> None:
    """Run the service with uvicorn until SIGINT or SIGTERM.

    ``app`` is an application, or a function making one (any ASGI application,
    such as one wrapped in :class:`~trustkit.service.access_log.AccessLog`). With ``workers`` > 1
    it must be a function: the socket is bound once, then each worker process
    is forked and makes its own application (its own store connections and
    OCSP caches; revocations reach all through the store). A worker that dies
    stops the others, so that a supervisor (systemd...) restarts the service.
    """
    import uvicorn

    limits = limits or ServerLimits()
    if workers < 1:
        raise ConfigError(f"workers: {workers}; at least 1")
    if workers == 1:
        instance = app if isinstance(app, Starlette) else app()
        uvicorn.Server(_uvicorn_config(instance, host, port, limits)).run()
        return
    if isinstance(app, Starlette):
        raise ConfigError("workers: several processes need a function making the application")
    factory = app
    sock = _uvicorn_config(None, host, port, limits).bind_socket()
    children: list[int] = []
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:  # the worker
                code = 1
                try:
                    for sig in previous:
                        signal.signal(sig, signal.SIG_DFL)
                    server = uvicorn.Server(_uvicorn_config(factory(), host, port, limits))
                    server.run(sockets=[sock])
                    code = 0
                finally:
                    os._exit(code)
            children.append(pid)
        while children:
            try:
                pid, _status = os.wait()
            except ChildProcessError:
                break
            children.remove(pid)
            if not stopping:
                stop(signal.SIGTERM, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
