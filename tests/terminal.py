"""The ``trustkit`` command in a real process on a pseudo-terminal, answering its prompts."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

TIMEOUT = 60.0
"""Seconds the command has to finish (CI machines can be slow)."""


def run_in_terminal(
    args: Sequence[str], answers: Sequence[str], *, env: Mapping[str, str]
) -> tuple[int, str]:
    """Run ``python -m trustkit.cli ARGS`` with a terminal as stdin, stdout and stderr.

    Each time the output ends in a prompt (``": "``), the next of ``answers``
    is typed. The process gets a session of its own, so it has no controlling
    terminal to open as ``/dev/tty`` and prompts on this one. Returns the exit
    status and everything the terminal showed, echoed keystrokes included.
    """
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "trustkit.cli", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=dict(env),
        start_new_session=True,
    )
    os.close(terminal)
    shown = bytearray()
    pending = list(answers)
    answered_at = 0
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the process closed its end of the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and len(shown) > answered_at and shown.endswith(b": "):
                os.write(controller, pending.pop(0).encode() + b"\n")
                answered_at = len(shown)
        else:
            process.kill()
            raise AssertionError(f"timed out; the terminal showed:\n{shown.decode()}")
        return process.wait(timeout=TIMEOUT), shown.decode(errors="replace")
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
