"""/health tells the truth, 503 bodies say nothing internal, and CA names are unique per service."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette

from tests.revocation.conftest import PASSPHRASE, make_ca, make_hierarchy
from tests.serving import free_port
from trustkit.ca import CertificateAuthority
from trustkit.errors import ConfigError
from trustkit.service import create_app, discover_authorities


@contextmanager
def running(app: Starlette) -> Iterator[str]:
    """``app`` on a real uvicorn server on 127.0.0.1; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _leaks(text: str, directory: Path) -> list[str]:
    """Internal details found in a response body."""
    needles = [str(directory), "ca.key", "ocsp-signer", "passphrase", "sqlite", "Traceback"]
    return [needle for needle in needles if needle.lower() in text.lower()]


@pytest.mark.parametrize("passphrase", [b"a wrong passphrase", None], ids=["wrong", "none"])
def test_a_ca_whose_key_cannot_be_opened_is_not_healthy(
    tmp_path: Path, passphrase: bytes | None
) -> None:
    h = make_hierarchy(tmp_path)
    h.ca.close()
    opened = discover_authorities([tmp_path / "ca"], passphrase=passphrase)
    try:
        with running(create_app(opened, passphrase=passphrase)) as url:
            health = httpx.get(f"{url}/health", timeout=30)
            assert health.status_code == 503
            assert health.json()["unavailable"] == {"test-root": "signing key cannot be opened"}
            assert _leaks(health.text, tmp_path) == []
            crl = httpx.get(f"{url}/crl/test-root.crl", timeout=30)
            assert crl.status_code == 503
            assert crl.text == "service unavailable: the CA cannot sign now; try again later\n"
            assert _leaks(crl.text, tmp_path) == []
            # Asked again: the same answer, without a second key derivation.
            assert httpx.get(f"{url}/health", timeout=30).status_code == 503
    finally:
        for ca in opened:
            ca.close()


def test_the_same_ca_with_its_passphrase_is_healthy(tmp_path: Path) -> None:
    # The twin: the right passphrase, and /health is 200 and the CRL is served.
    h = make_hierarchy(tmp_path)
    h.ca.close()
    opened = discover_authorities([tmp_path / "ca"], passphrase=PASSPHRASE)
    try:
        with running(create_app(opened, passphrase=PASSPHRASE)) as url:
            health = httpx.get(f"{url}/health", timeout=30)
            assert health.status_code == 200, health.text
            assert health.json() == {"status": "ok", "authorities": ["test-root"]}
            assert httpx.get(f"{url}/crl/test-root.crl", timeout=30).status_code == 200
    finally:
        for ca in opened:
            ca.close()


@pytest.mark.postgres
def test_a_store_that_stops_answering_makes_health_503(tmp_path: Path, postgres_url: str) -> None:
    h = make_hierarchy(tmp_path, store=postgres_url)
    h.ca.close()
    opened = discover_authorities([tmp_path / "ca"], passphrase=PASSPHRASE)
    try:
        with running(create_app(opened, passphrase=PASSPHRASE)) as url:
            assert httpx.get(f"{url}/health", timeout=30).status_code == 200
            engine = sa.create_engine(postgres_url)
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE counters")
            engine.dispose()
            health = httpx.get(f"{url}/health", timeout=30)
            assert health.status_code == 503
            assert health.json()["unavailable"] == {"test-root": "store unavailable"}
            assert _leaks(health.text, tmp_path) == [] and "postgres" not in health.text
    finally:
        for ca in opened:
            ca.close()


def _two_cas(tmp_path: Path, first: str, second: str) -> tuple[Path, Path]:
    for name in (first, second):
        make_ca(tmp_path / name.replace(" ", "_"), name=name).close()
    return tmp_path / first.replace(" ", "_"), tmp_path / second.replace(" ", "_")


def _rename(directory: Path, name: str) -> None:
    toml = directory / "trustkit.toml"
    text = toml.read_text()
    old = next(line for line in text.splitlines() if line.startswith("name = "))
    toml.write_text(text.replace(old, f'name = "{name}"'))


def test_two_cas_with_the_same_name_are_refused(tmp_path: Path) -> None:
    # A root rollover that kept its name: another key, the same name.
    old, new = _two_cas(tmp_path, "old-root", "new-root")
    _rename(new, "old-root")
    with pytest.raises(ConfigError, match=r"CA name old-root: .* same name"):
        discover_authorities([old, new], passphrase=PASSPHRASE)
    # The library refuses it too, whoever opened the CAs.
    cas = [CertificateAuthority.open(d, passphrase=PASSPHRASE) for d in (old, new)]
    try:
        with pytest.raises(ConfigError, match="unique within one service"):
            create_app(cas, passphrase=PASSPHRASE)
    finally:
        for ca in cas:
            ca.close()


def test_the_same_ca_in_two_directories_is_refused(tmp_path: Path) -> None:
    make_ca(tmp_path / "a", name="a").close()
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    _rename(tmp_path / "copy", "b")
    with pytest.raises(ConfigError, match="the same CA key"):
        discover_authorities([tmp_path / "a", tmp_path / "copy"], passphrase=PASSPHRASE)


def test_two_cas_claiming_one_url_path_are_refused(tmp_path: Path) -> None:
    first, second = _two_cas(tmp_path, "first-ca", "second-ca")
    toml = second / "trustkit.toml"
    base = 'base = "http://pki.example.gov"\n'
    claim = 'crl = "http://pki.example.gov/crl/first-ca.crl"\n'
    toml.write_text(toml.read_text().replace(base, base + claim))
    cas = discover_authorities([first, second], passphrase=PASSPHRASE)
    try:
        with pytest.raises(ConfigError, match=r"URL path /crl/first-ca\.crl: claimed by CA"):
            create_app(cas, passphrase=PASSPHRASE)
    finally:
        for ca in cas:
            ca.close()


def test_distinct_names_are_served_side_by_side(tmp_path: Path) -> None:
    # The twin: two CAs with their own names share one service.
    first, second = _two_cas(tmp_path, "first-ca", "second-ca")
    cas = discover_authorities([first, second], passphrase=PASSPHRASE)
    try:
        with running(create_app(cas, passphrase=PASSPHRASE)) as url:
            assert httpx.get(f"{url}/health", timeout=30).json()["authorities"] == [
                "first-ca",
                "second-ca",
            ]
            for name in ("first-ca", "second-ca"):
                assert httpx.get(f"{url}/crl/{name}.crl", timeout=30).status_code == 200
    finally:
        for ca in cas:
            ca.close()


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trustkit.cli", "serve", *args, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TRUSTKIT_PASSPHRASE": ""},
    )


def test_serve_refuses_colliding_names_in_one_line(tmp_path: Path) -> None:
    old, new = _two_cas(tmp_path, "old-root", "new-root")
    _rename(new, "old-root")
    secret = tmp_path / "secret"
    secret.write_bytes(PASSPHRASE + b"\n")
    done = _serve("--ca", str(old), "--ca", str(new), "--passphrase-file", str(secret))
    assert done.returncode == 1
    assert "CA name old-root" in done.stderr and "unique within one service" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_serve_refuses_a_wrong_passphrase_in_one_line(tmp_path: Path) -> None:
    make_ca(tmp_path / "ca", name="only-ca").close()
    wrong = tmp_path / "wrong"
    wrong.write_bytes(b"not the passphrase\n")
    done = _serve("--ca", str(tmp_path / "ca"), "--passphrase-file", str(wrong))
    assert done.returncode == 1
    assert "CA only-ca: cannot sign" in done.stderr and "wrong passphrase" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
