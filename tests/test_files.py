"""Whole-or-nothing file writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trustkit._files import PRIVATE_MODE, write_atomic


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
