"""`trustkit serve --tsa` answers RFC 3161 requests over HTTP, checked by openssl ts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving import free_port, serving
from trustkit.clock import SystemClock
from trustkit.errors import TimestampError
from trustkit.testing import TEST_PASSPHRASE, make_pki
from trustkit.tsa import TimestampAuthority, check_reply


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    base = tmp_path_factory.mktemp("serve-tsa")
    pki = make_pki(base, SystemClock())
    TimestampAuthority.create(
        pki.issuing,
        base / "tsa",
        subject="CN=Example Time-Stamping Authority,O=Republic of Example,C=EE",
        passphrase=TEST_PASSPHRASE,
    ).close()
    (base / "chain.pem").write_bytes(
        (base / "issuing" / "ca.pem").read_bytes() + (base / "root" / "ca.pem").read_bytes()
    )
    pki.close()
    secret = base / "passphrase"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable, "-m", "trustkit.cli", "serve", "--ca", str(base / "issuing"),
        "--tsa", str(base / "tsa"), "--port", str(port), "--passphrase-file", str(secret),
    ]  # fmt: skip
    env = {**os.environ, "TRUSTKIT_PASSPHRASE": ""}
    with serving(args, url=url, log=base / "serve.log", env=env):
        yield url, base


@pytest.mark.interop
def test_openssl_query_is_answered_and_verifies(served: tuple[str, Path]) -> None:
    url, base = served
    document = base / "form.txt"
    document.write_text("Application for a residence certificate\n")
    query = base / "request.tsq"
    _openssl("ts", "-query", "-data", document, "-sha256", "-cert", "-out", query)
    answer = httpx.post(
        f"{url}/tsa",
        content=query.read_bytes(),
        headers={"Content-Type": "application/timestamp-query"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/timestamp-reply"
    reply = base / "reply.tsr"
    reply.write_bytes(answer.content)
    root, chain = base / "root" / "ca.pem", base / "chain.pem"
    ok = _openssl("ts", "-verify", "-in", reply, "-queryfile", query,
                  "-CAfile", root, "-untrusted", chain)  # fmt: skip
    assert "Verification: OK" in ok.stdout, ok.stdout + ok.stderr
    # The twin: the same reply does not verify for another document.
    other = base / "other.tsq"
    document.write_text("Something else\n")
    _openssl("ts", "-query", "-data", document, "-sha256", "-cert", "-out", other)
    bad = _openssl("ts", "-verify", "-in", reply, "-queryfile", other,
                   "-CAfile", root, "-untrusted", chain)  # fmt: skip
    assert "Verification: OK" not in bad.stdout


def test_bad_requests(served: tuple[str, Path]) -> None:
    url, _ = served
    wrong_type = httpx.post(f"{url}/tsa", content=b"0\x00", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    garbage = httpx.post(
        f"{url}/tsa",
        content=b"\x30\x03\x02\x01\x07",
        headers={"Content-Type": "application/timestamp-query"},
    )
    assert garbage.status_code == 200
    with pytest.raises(TimestampError, match="refused"):
        check_reply(garbage.content, digest=b"\x00" * 32, nonce=None)
