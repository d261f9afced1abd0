"""An independent verifier: Go's golang.org/x/mod/sumdb (tlog and note) reads a log
that trustkit wrote as tlog-tiles serves it, and must agree on every hash and proof.

``goverify`` (tests/tlog/goverify/main.go, built here in GOPATH mode from Debian's
golang-golang-x-mod-dev) opens the checkpoint with the log's verifier key, recomputes
the root from the entry bundles alone, compares every tile with the hashes it
computed, then proves inclusion and consistency from the tiles and checks the proofs
trustkit made. Each tampering below must make it fail.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import require
from tests.tlog._dirlog import DirectoryLog
from trustkit import tlog

pytestmark = pytest.mark.interop

GOPATH_SOURCES = Path("/usr/share/gocode")
SOURCE = Path(__file__).parent / "goverify"


@pytest.fixture(scope="module")
def goverify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("go") is None or not (GOPATH_SOURCES / "src/golang.org/x/mod").is_dir():
        require("go with golang.org/x/mod (Debian golang-go, golang-golang-x-mod-dev)")
    build = tmp_path_factory.mktemp("goverify")
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": f"{build}:{GOPATH_SOURCES}",
        "GOCACHE": str(build / "cache"),
        "GOFLAGS": "",
    }
    binary = build / "goverify"
    subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=SOURCE, env=env, check=True, timeout=300
    )
    return binary


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _run(
    binary: Path, log: DirectoryLog, request: dict[str, object]
) -> subprocess.CompletedProcess[str]:
    path = log.directory / "request.json"
    path.write_text(json.dumps(request))
    return subprocess.run(
        [str(binary), str(log.directory), log.signer.verifier.vkey, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _request(
    log: DirectoryLog, indexes: list[int], old: tuple[str, int] | None
) -> dict[str, object]:
    source = tlog.TileHashes(log, log.size)
    request: dict[str, object] = {
        "inclusions": [
            {
                "index": i,
                "entry": _b64(log.entries[i]),
                "proof": [_b64(h) for h in tlog.inclusion_proof(source, i, log.size)],
            }
            for i in indexes
        ]
    }
    if old is not None:
        name, size = old
        request["old_checkpoint"] = name
        request["consistency_proof"] = [
            _b64(h) for h in tlog.consistency_proof(source, size, log.size)
        ]
    return request


@pytest.fixture
def log(tmp_path: Path) -> DirectoryLog:
    log = DirectoryLog(tmp_path / "log")
    # Certificate-sized entries, past two tile levels, ending in partial tiles.
    log.append([os.urandom(40) + f"certificate {i}".encode() for i in range(65_800)])
    log.publish("checkpoint.old")
    log.append([f"revocation {i}".encode() for i in range(1_234)])
    log.publish()
    return log


INDEXES = [0, 1, 255, 256, 65_535, 65_536, 65_799, 65_800, 67_033]


def test_go_agrees_with_every_hash_and_proof(goverify: Path, log: DirectoryLog) -> None:
    done = _run(goverify, log, _request(log, INDEXES, ("checkpoint.old", 65_800)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok root recomputed from 67034 entries" in done.stdout
    assert "ok consistency 65800 -> 67034" in done.stdout
    assert done.stdout.count("ok inclusion of entry") == len(INDEXES)


def test_go_detects_a_changed_byte_in_an_entry_bundle(goverify: Path, log: DirectoryLog) -> None:
    bundle = log.directory / tlog.entries_path(3)
    data = bytearray(bundle.read_bytes())
    data[100] ^= 1
    bundle.write_bytes(bytes(data))
    done = _run(goverify, log, _request(log, [0], None))
    assert done.returncode == 1 and "the entries hash to" in done.stdout, done.stdout


def test_go_detects_a_changed_tile(goverify: Path, log: DirectoryLog) -> None:
    tile = log.directory / tlog.tile_path(1, 0)
    data = bytearray(tile.read_bytes())
    data[0] ^= 1
    tile.write_bytes(bytes(data))
    done = _run(goverify, log, _request(log, [0], None))
    assert done.returncode == 1 and "differs from the hashes of the entries" in done.stdout


def test_go_detects_a_dropped_entry(goverify: Path, log: DirectoryLog) -> None:
    bundle = log.directory / tlog.entries_path(0)
    entries = tlog.parse_entry_bundle(bundle.read_bytes(), 256)
    bundle.write_bytes(tlog.entry_bundle(entries[:-1]))
    done = _run(goverify, log, _request(log, [0], None))
    assert done.returncode == 1 and "255 entries, not 256" in done.stdout, done.stdout


def test_go_detects_a_fork_signed_with_the_log_key(goverify: Path, log: DirectoryLog) -> None:
    # The log key signs an old checkpoint for a history where one entry was rewritten;
    # the current tree is not consistent with it.
    forked = DirectoryLog(log.directory / "fork")
    forked.signer = log.signer
    forked.append([*log.entries[:65_799], b"a certificate issued behind the citizen's back"])
    (log.directory / "checkpoint.old").write_bytes(forked.checkpoint())
    request = _request(log, [], None)
    request["old_checkpoint"] = "checkpoint.old"
    source = tlog.TileHashes(log, log.size)
    request["consistency_proof"] = [
        _b64(h) for h in tlog.consistency_proof(source, 65_800, log.size)
    ]
    done = _run(goverify, log, request)
    assert done.returncode == 1 and "consistency from the tiles" in done.stdout, done.stdout


def test_go_refuses_a_checkpoint_signed_by_another_key(goverify: Path, log: DirectoryLog) -> None:
    impostor = tlog.NoteSigner(log.signer.name, Ed25519PrivateKey.generate())
    text = tlog.Checkpoint(log.signer.name, log.size, log.root()).text()
    (log.directory / "checkpoint").write_bytes(tlog.format_note(text, [impostor.sign(text)]))
    done = _run(goverify, log, _request(log, [], None))
    assert done.returncode == 1 and "checkpoint" in done.stdout, done.stdout
