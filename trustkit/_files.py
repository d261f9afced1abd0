"""Writing files whole or not at all.

A failed command must leave no half-written file: every write goes to a
temporary file in the same directory, is flushed to disk, and is renamed over
the target, which POSIX makes atomic.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["PRIVATE_MODE", "PUBLIC_MODE", "write_atomic"]

PRIVATE_MODE = 0o600
"""File mode for private keys and anything else secret."""

PUBLIC_MODE = 0o644
"""File mode for certificates, CRLs and other public artefacts."""


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = PUBLIC_MODE) -> Path:
    """Write ``data`` to ``path`` atomically, the file created with ``mode``.

    A target that exists and is not a regular file (``/dev/null``,
    ``/dev/stdout``, a FIFO) is written to in place: renaming over it would
    replace the device with a file.
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        with target.open("wb") as handle:
            handle.write(data)
        return target
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
