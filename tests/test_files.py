"""Whole-or-nothing file writes; secrets only as new regular files in 0700 directories."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from trustkit._files import (
    PRIVATE_DIR_MODE,
    PRIVATE_MODE,
    PUBLIC_MODE,
    make_private_directory,
    write_atomic,
    write_private,
)


def test_write_is_atomic_and_mode_is_set(tmp_path: Path) -> None:
    target = tmp_path / "key.pem"
    write_atomic(target, b"secret", mode=PRIVATE_MODE)
    assert target.read_bytes() == b"secret"
    assert stat.S_IMODE(target.stat().st_mode) == PRIVATE_MODE
    write_atomic(target, b"new", mode=PRIVATE_MODE)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "ca.pem"
    target.write_bytes(b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["ca.pem"]


def test_devices_are_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_atomic(fifo, b"through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    write_atomic(os.devnull, b"discarded")
    assert stat.S_ISCHR(Path(os.devnull).stat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_exclusive_write_makes_a_new_file(tmp_path: Path) -> None:
    target = tmp_path / "ca.pem"
    write_atomic(target, b"first", exclusive=True)
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == PUBLIC_MODE


@pytest.mark.parametrize("kind", ["file", "symlink-to-file", "dangling-symlink", "device-link"])
def test_exclusive_write_replaces_nothing(tmp_path: Path, kind: str) -> None:
    # The twin of the test above: anything with the name, even a link to nowhere, stays.
    target = tmp_path / "ca.pem"
    victim = tmp_path / "victim"
    if kind == "file":
        target.write_bytes(b"old")
    elif kind == "symlink-to-file":
        victim.write_bytes(b"old")
        target.symlink_to(victim)
    elif kind == "dangling-symlink":
        target.symlink_to(victim)
    else:
        target.symlink_to(os.devnull)
    before = os.readlink(target) if target.is_symlink() else target.read_bytes()
    with pytest.raises(FileExistsError):
        write_atomic(target, b"new", exclusive=True)
    after = os.readlink(target) if target.is_symlink() else target.read_bytes()
    assert after == before
    if kind == "symlink-to-file":
        assert victim.read_bytes() == b"old"
    assert not victim.exists() or kind == "symlink-to-file"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_exclusive_writers_racing_for_one_name_give_one_winner(tmp_path: Path) -> None:
    target = tmp_path / "ca.key"
    writers = 16
    barrier = threading.Barrier(writers)

    def write(index: int) -> int | None:
        barrier.wait()
        try:
            write_atomic(target, f"writer {index}".encode(), exclusive=True)
        except FileExistsError:
            return None
        return index

    with concurrent.futures.ThreadPoolExecutor(writers) as pool:
        winners = [i for i in pool.map(write, range(writers)) if i is not None]
    assert len(winners) == 1
    assert target.read_bytes() == f"writer {winners[0]}".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["ca.key"]


def test_private_write_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "ca.key"
    with umask(0):
        write_private(target, b"secret")
    assert stat.S_IMODE(target.stat().st_mode) == PRIVATE_MODE
    write_private(target, b"replaced")  # a regular file is replaced atomically
    assert target.read_bytes() == b"replaced"
    with pytest.raises(FileExistsError, match="not replaced"):
        write_private(target, b"again", exclusive=True)
    assert target.read_bytes() == b"replaced"


@pytest.mark.parametrize("kind", ["devnull-link", "file-link", "fifo", "directory"])
def test_private_write_never_goes_through_a_link_or_into_a_device(
    tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "ca.key"
    elsewhere = tmp_path / "elsewhere.key"
    if kind == "devnull-link":
        target.symlink_to(os.devnull)
    elif kind == "file-link":
        elsewhere.write_bytes(b"someone else's file")
        target.symlink_to(elsewhere)
    elif kind == "fifo":
        os.mkfifo(target)  # no reader: a write into it would block, a refusal does not
    else:
        target.mkdir()
    with pytest.raises(FileExistsError, match="not a regular file"):
        write_private(target, b"secret")
    if kind == "file-link":
        assert elsewhere.read_bytes() == b"someone else's file"
    if kind.endswith("link"):
        assert target.is_symlink()
    # The same target through write_atomic without exclusive is written into in place:
    # the behaviour a secret must not get.
    if kind == "devnull-link":
        write_atomic(target, b"gone")
        assert target.is_symlink()


def test_private_directories_are_0700_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "ca"
    for mask in (0, 0o277):
        with umask(mask):
            created = make_private_directory(target)
        assert created == [tmp_path / "a", tmp_path / "a" / "b", target]
        assert [stat.S_IMODE(p.stat().st_mode) for p in created] == [PRIVATE_DIR_MODE] * 3
        for directory in reversed(created):
            directory.rmdir()


def test_an_existing_directory_is_left_alone(tmp_path: Path) -> None:
    existing = tmp_path / "ca"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    assert make_private_directory(existing) == []
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        make_private_directory(tmp_path / "file")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError, match="dangling"):
        make_private_directory(tmp_path / "dangling" / "ca")
    assert not (tmp_path / "nowhere").exists()
