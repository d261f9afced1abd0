"""The RFC 3161 authority and client: replies, rejections, OpenSSL interop, HTTP, fuzzing."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from tests.cms.conftest import SIGNED_AT, Pki, build_pki
from trustkit._asn1 import encode_timestamp_request, parse_timestamp_response
from trustkit.clock import FixedClock
from trustkit.cms import DigestAlgorithm
from trustkit.errors import TimestampError
from trustkit.service.tsa import tsa_routes
from trustkit.tsa import (
    REPLY_MEDIA_TYPE,
    FailureInfo,
    TimestampAuthority,
    check_reply,
    request_timestamp,
)

DIGEST = hashlib.sha256(b"a document").digest()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    yield from build_pki(tmp_path_factory)


def _request(**kwargs: object) -> bytes:
    fields: dict[str, object] = {"hash_algorithm": "sha256", "hashed_message": DIGEST, "nonce": 42}
    fields.update(kwargs)
    return encode_timestamp_request(**fields)  # type: ignore[arg-type]


def test_granted_reply_checks_out(pki: Pki) -> None:
    reply = pki.tsa.respond(_request(), at=SIGNED_AT)
    token = check_reply(reply, digest=DIGEST, nonce=42)
    assert token.gen_time == SIGNED_AT
    assert token.policy == pki.tsa.policy.policy
    assert token.signer == pki.tsa.certificate
    second = check_reply(pki.tsa.respond(_request(), at=SIGNED_AT), digest=DIGEST, nonce=42)
    assert second.serial_number == token.serial_number + 1  # the store's counter


def test_reply_for_another_digest_or_nonce_is_refused(pki: Pki) -> None:
    reply = pki.tsa.respond(_request(), at=SIGNED_AT)
    with pytest.raises(TimestampError, match="imprint"):
        check_reply(reply, digest=hashlib.sha256(b"other").digest(), nonce=42)
    with pytest.raises(TimestampError, match="nonce"):
        check_reply(reply, digest=DIGEST, nonce=43)


@pytest.mark.parametrize(
    ("request_der", "failure"),
    [
        (b"\x30\x03\x02\x01\x01", FailureInfo.BAD_DATA_FORMAT),
        (b"not DER at all", FailureInfo.BAD_DATA_FORMAT),
        (_request(hash_algorithm="sha1", hashed_message=b"\x00" * 20), FailureInfo.BAD_ALG),
        (_request(hashed_message=b"\x00" * 31), FailureInfo.BAD_DATA_FORMAT),
        (_request(policy="1.2.3.4"), FailureInfo.UNACCEPTED_POLICY),
        (b"\x30" + b"\x84\x00\x01\x00\x00" + b"\x00" * 65536, FailureInfo.BAD_REQUEST),
    ],
    ids=["truncated", "garbage", "sha1", "short-imprint", "policy", "oversized"],
)
def test_bad_requests_are_rejected(pki: Pki, request_der: bytes, failure: FailureInfo) -> None:
    reply = parse_timestamp_response(pki.tsa.respond(request_der, at=SIGNED_AT))
    assert reply.status == 2
    assert reply.failure_info == (failure.value,)
    assert reply.token is None
    with pytest.raises(TimestampError, match=failure.value):
        check_reply(pki.tsa.respond(request_der, at=SIGNED_AT), digest=DIGEST, nonce=None)


def test_accepted_policy_is_granted(pki: Pki) -> None:
    reply = pki.tsa.respond(_request(policy=pki.tsa.policy.policy), at=SIGNED_AT)
    assert check_reply(reply, digest=DIGEST, nonce=42).policy == pki.tsa.policy.policy


# --- OpenSSL interop ---------------------------------------------------------

openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


def _run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], capture_output=True, check=False)


@pytest.mark.interop
@openssl
def test_openssl_verifies_trustkit_replies(pki: Pki, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_bytes(b"stamp me")
    query = tmp_path / "q.tsq"
    assert (
        _run("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)).returncode
        == 0
    )
    reply = tmp_path / "r.tsr"
    reply.write_bytes(pki.tsa.respond(query.read_bytes(), at=SIGNED_AT))
    root = tmp_path / "root.pem"
    root.write_bytes(pki.root.certificate.public_bytes(Encoding.PEM))
    untrusted = tmp_path / "tsa-chain.pem"
    untrusted.write_bytes(
        b"".join(c.public_bytes(Encoding.PEM) for c in (pki.tsa.certificate, *pki.tsa.chain))
    )
    args = [
        "ts",
        "-verify",
        "-queryfile",
        str(query),
        "-CAfile",
        str(root),
        "-untrusted",
        str(untrusted),
    ]
    ok = _run(*args, "-in", str(reply))
    assert ok.returncode == 0, ok.stderr.decode()
    # Twins: a tampered reply, and the wrong root.
    der = reply.read_bytes()
    tampered = tmp_path / "t.tsr"
    tampered.write_bytes(der[:-10] + bytes([der[-10] ^ 1]) + der[-9:])
    assert _run(*args, "-in", str(tampered)).returncode != 0
    root.write_bytes(pki.other_root.certificate.public_bytes(Encoding.PEM))
    assert _run(*args, "-in", str(reply)).returncode != 0


@pytest.mark.interop
@openssl
def test_trustkit_checks_openssl_replies(pki: Pki, tmp_path: Path) -> None:
    key = tmp_path / "tsa.key"
    key.write_bytes(
        pki.tsa.key.private_bytes(  # type: ignore[union-attr]
            Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert = tmp_path / "tsa.pem"
    cert.write_bytes(pki.tsa.certificate.public_bytes(Encoding.PEM))
    config = tmp_path / "tsa.cnf"
    config.write_text(
        "[tsa]\ndefault_tsa = tsa1\n[tsa1]\n"
        f"serial = {tmp_path / 'serial'}\nsigner_cert = {cert}\nsigner_key = {key}\n"
        "signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n"
        "accuracy = secs:1\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
    )
    (tmp_path / "serial").write_text("01\n")
    data = tmp_path / "data.txt"
    data.write_bytes(b"stamp me")
    query = tmp_path / "q.tsq"
    _run("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query))
    reply = tmp_path / "r.tsr"
    made = _run(
        "ts", "-reply", "-config", str(config), "-queryfile", str(query), "-out", str(reply)
    )
    assert made.returncode == 0, made.stderr.decode()
    digest = hashlib.sha256(b"stamp me").digest()
    token = check_reply(reply.read_bytes(), digest=digest, nonce=None)
    assert token.policy == "1.2.3.4.1"
    assert token.signer == pki.tsa.certificate
    der = reply.read_bytes()
    with pytest.raises(TimestampError):
        check_reply(der[:-10] + bytes([der[-10] ^ 1]) + der[-9:], digest=digest, nonce=None)


# --- HTTP --------------------------------------------------------------------


@pytest.fixture
def tsa_url(pki: Pki) -> Iterator[str]:
    app = Starlette(routes=tsa_routes(pki.tsa, clock=FixedClock(SIGNED_AT)))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/tsa"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_client_over_http(pki: Pki, tsa_url: str) -> None:
    token = request_timestamp(tsa_url, DIGEST, DigestAlgorithm.SHA256)
    assert token.gen_time == SIGNED_AT
    assert token.hashed_message == DIGEST
    with pytest.raises(TimestampError, match="HTTP status 404"):
        request_timestamp(tsa_url + "/nowhere", DIGEST)
    with pytest.raises(TimestampError, match="bytes"):
        request_timestamp(tsa_url, DIGEST[:-1])


def test_service_rejects_wrong_media_type(tsa_url: str) -> None:
    import httpx

    wrong = httpx.post(tsa_url, content=_request(), headers={"Content-Type": "text/plain"})
    assert wrong.status_code == 415
    right = httpx.post(
        tsa_url, content=_request(), headers={"Content-Type": "application/timestamp-query"}
    )
    assert right.status_code == 200
    assert right.headers["content-type"] == REPLY_MEDIA_TYPE


# --- fuzzing -----------------------------------------------------------------


def _assert_reply(reply: bytes) -> None:
    parsed = parse_timestamp_response(reply)
    assert parsed.status in (0, 2)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_fuzz_garbage_requests(pki: Pki, data: bytes) -> None:
    _assert_reply(pki.tsa.respond(data, at=SIGNED_AT))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_fuzz_mutated_requests(pki: Pki, data: st.DataObject) -> None:
    request = bytearray(_request(policy=pki.tsa.policy.policy))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(request) - 1))
        request[index] = data.draw(st.integers(0, 255))
    _assert_reply(pki.tsa.respond(bytes(request), at=SIGNED_AT))


def test_tsa_refuses_a_certificate_without_timestamping(pki: Pki) -> None:
    key, cert = pki.signers["ec-p256"]
    with pytest.raises(TimestampError, match=r"RFC 3161 2\.3"):
        TimestampAuthority(key, cert)
