"""Writing files whole or not at all, and secrets only as new regular files.

A failed command must leave no half-written file: every write goes to a
temporary file in the same directory, is flushed to disk, and is then put in
place under the target's name, which POSIX makes atomic.

Secrets (private keys, passphrases, PKCS#12 files) go further: they are
written only as regular files of mode 0600, never into a device or FIFO and
never through a symbolic link, and with ``exclusive`` never over anything
that already has the name. The directories that hold them are made 0700
whatever the process umask.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_MODE",
    "PUBLIC_MODE",
    "atomic_writer",
    "make_private_directory",
    "write_atomic",
    "write_private",
]

PRIVATE_MODE = 0o600
"""File mode for private keys and anything else secret."""

PUBLIC_MODE = 0o644
"""File mode for certificates, CRLs and other public artefacts."""

PRIVATE_DIR_MODE = 0o700
"""Directory mode for a CA directory and any other directory that holds secrets."""


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    mode: int = PUBLIC_MODE,
    exclusive: bool = False,
) -> Path:
    """Write ``data`` to ``path`` atomically, the file created with ``mode``.

    A target that exists and is not a regular file (``/dev/null``,
    ``/dev/stdout``, a FIFO) is written to in place: renaming over it would
    replace the device with a file.

    With ``exclusive`` nothing at ``path`` is replaced or written into:
    if anything has the name, even a dangling symbolic link, the write fails
    with :class:`FileExistsError` and leaves it alone. The finished file is
    put in place with ``link(2)``, which fails rather than follow or replace
    what is there, so two writers racing for one name cannot both succeed.
    """
    target = Path(path)
    if not exclusive and target.exists() and not target.is_file():
        with target.open("wb") as handle:
            handle.write(data)
        return target
    if exclusive and os.path.lexists(target):
        raise _exists(target, "exists; it is not replaced")
    return _write_through_temporary(target, data, mode, exclusive=exclusive)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, mode: int = PUBLIC_MODE) -> Iterator[BinaryIO]:
    """A file to write in pieces that appears under ``path`` whole, or not at all.

    For output too large to hold in memory (an export of a whole store): the
    pieces go to a temporary file beside ``path``, which is synced and renamed
    over ``path`` only when the block ends without an error; otherwise it is
    removed and ``path`` is left as it was. A ``path`` that exists and is not a
    regular file (``/dev/stdout``, a FIFO) is written to in place, as
    :func:`write_atomic` does.
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        with target.open("wb") as handle:
            yield handle
        return
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_private(path: str | os.PathLike[str], data: bytes, *, exclusive: bool = False) -> Path:
    """Write a secret to ``path`` atomically as a regular file of mode 0600.

    Refused with :class:`FileExistsError` when ``path`` is a symbolic link
    (even to a regular file), a device, a FIFO or a directory: a secret
    written through ``ca.key -> /dev/null`` is lost, and one written into a
    FIFO goes to whoever reads it. An existing regular file is replaced
    atomically (the rename never follows a link planted after the check);
    with ``exclusive`` it is refused too.
    """
    target = Path(path)
    try:
        found = target.lstat()
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(found.st_mode):
            raise _exists(
                target,
                "exists and is not a regular file (a secret is never written through "
                "a symbolic link or into a device or FIFO)",
            )
        if exclusive:
            raise _exists(target, "exists; it is not replaced")
    return _write_through_temporary(target, data, PRIVATE_MODE, exclusive=exclusive)


def make_private_directory(path: str | os.PathLike[str]) -> list[Path]:
    """Create ``path`` and any missing parents with mode 0700, whatever the umask.

    Returns the directories created, outermost first, so that a caller that
    fails later can remove exactly those. A directory that exists already is
    left as it is.
    """
    target = Path(path)
    missing: list[Path] = []
    current = target
    while not current.exists():
        if os.path.lexists(current):
            raise _exists(current, "is a dangling symbolic link, not a directory")
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    created: list[Path] = []
    try:
        for directory in reversed(missing):
            try:
                os.mkdir(directory, PRIVATE_DIR_MODE)
            except FileExistsError:
                if not directory.is_dir():
                    raise
                continue  # made by another process meanwhile: not ours to remove
            created.append(directory)
            # The umask can only take bits away from mkdir's mode; chmod sets exactly 0700
            # even under an odd umask such as 0o277.
            os.chmod(directory, PRIVATE_DIR_MODE)
    except BaseException:
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    if not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(target))
    return created


def _exists(target: Path, reason: str) -> FileExistsError:
    return FileExistsError(errno.EEXIST, reason, str(target))


def _write_through_temporary(target: Path, data: bytes, mode: int, *, exclusive: bool) -> Path:
    directory = target.parent if str(target.parent) else Path(".")
    # mkstemp opens with O_CREAT | O_EXCL and mode 0600: no one else can open it meanwhile.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            # link(2) fails with EEXIST if anything has the name, a symlink included, and
            # never follows one: the O_EXCL | O_NOFOLLOW of a rename.
            os.link(tmp, target)
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
