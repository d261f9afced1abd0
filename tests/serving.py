"""Real servers on 127.0.0.1 for tests: a free port, and a process that answers /health."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

STARTUP_TIMEOUT = 60.0
"""Seconds a server process has to answer /health (CI machines can be slow)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_health(url: str, process: subprocess.Popen[Any], log: Path | None = None) -> None:
    """Return once ``url``/health answers 200; fail if ``process`` exits or time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        told = log.read_text(errors="replace") if log is not None and log.exists() else ""
        assert process.poll() is None, f"the server exited:\n{told}"
        assert time.monotonic() < deadline, f"the server did not start:\n{told}"
        time.sleep(0.1)


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate ``process``, and kill it if it does not go."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(
    args: Sequence[str], *, url: str, log: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` (a server listening at ``url``) with its stderr in ``log``, until exit."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(args),
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            wait_for_health(url, process, log)
            yield process
        finally:
            stop(process)


class StaticServer:
    """A real HTTP server on 127.0.0.1 that serves ``routes`` (path -> bytes); 404 elsewhere.

    Tests set ``routes`` to what a CRL distribution point or caIssuers URL should return.
    """

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = owner.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[StaticServer]:
        server = cls()
        thread = threading.Thread(target=server._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server._server.shutdown()
            server._server.server_close()
            thread.join()
