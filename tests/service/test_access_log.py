"""`trustkit serve` writes one JSON line per request to stderr: the access log.

A real server process on 127.0.0.1 answers OCSP (good, revoked, malformed),
a CRL, the CA certificate, a wrong media type, an unknown path and a hostile
1000x-long URL; its stderr must hold one parseable line for each, saying which
CA answered what, and never the passphrase. The twin runs with
``--log-level warning`` and must log none of them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from tests.serving import free_port, serving
from trustkit.clock import SystemClock
from trustkit.service.access_log import LOGGER_NAME, MAX_PATH_CHARS, AccessLog
from trustkit.testing import TEST_PASSPHRASE, Hierarchy, make_pki

FIELDS = {"time", "method", "path", "status", "ca", "ocsp", "duration_ms", "client"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hierarchy, Path]]:
    base = tmp_path_factory.mktemp("access-log")
    with make_pki(base, SystemClock()) as pki:
        good = pki.issue_sample("tls-client").certificate
        revoked = pki.issue_sample("tls-client").certificate
        pki.issuing.revoke(revoked.serial_number)
        for name, certificate in (("good", good), ("revoked", revoked)):
            (base / f"{name}.der").write_bytes(certificate.public_bytes(Encoding.DER))
        (base / "passphrase").write_bytes(TEST_PASSPHRASE + b"\n")
        yield pki, base


def _request(pki: Hierarchy, base: Path, name: str) -> bytes:
    leaf = x509.load_der_x509_certificate((base / f"{name}.der").read_bytes())
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        leaf, pki.issuing.certificate, hashes.SHA256()
    )
    return builder.build().public_bytes(Encoding.DER)


def _serve(base: Path, *extra: str) -> tuple[list[str], str, Path]:
    port = free_port()
    args = [
        sys.executable, "-m", "trustkit.cli", "serve", "--ca", str(base / "issuing"),
        "--port", str(port), "--signing", "ca", "--passphrase-file", str(base / "passphrase"),
        *extra,
    ]  # fmt: skip
    return args, f"http://127.0.0.1:{port}", base / f"serve-{port}.log"


def _exchange(pki: Hierarchy, base: Path, url: str) -> list[tuple[str, str, int]]:
    """Every kind of request, and (method, path, status) as the client saw each."""
    leaf = x509.load_der_x509_certificate((base / "good.der").read_bytes())
    crl_path = urlparse(
        leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        .value[0]
        .full_name[0]
        .value
    ).path
    aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    (ca_issuers,) = [
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
    ]
    ca_path = urlparse(ca_issuers).path
    ocsp_type = {"Content-Type": "application/ocsp-request"}
    revoked_get = "/ocsp/" + base64.b64encode(_request(pki, base, "revoked")).decode()
    seen = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for method, path, kwargs in [
            ("POST", "/ocsp", {"content": _request(pki, base, "good"), "headers": ocsp_type}),
            ("GET", revoked_get, {}),
            ("POST", "/ocsp", {"content": b"\x30\x03\x02\x01\x01", "headers": ocsp_type}),
            ("POST", "/ocsp", {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
            ("GET", crl_path, {}),
            ("GET", ca_path, {}),
            ("GET", "/no/such/thing", {}),
            # 40 times a real GET request: the server answers, the log line stays short.
            ("GET", "/ocsp/" + "A" * 8_000, {}),
        ]:
            answer = client.request(method, path, **kwargs)
            seen.append((method, path, answer.status_code))
    return seen


def _json_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_each_request_is_one_json_line(pki: tuple[Hierarchy, Path]) -> None:
    hierarchy, base = pki
    args, url, log = _serve(base)
    env = {**os.environ, "TRUSTKIT_PASSPHRASE": ""}
    with serving(args, url=url, log=log, env=env):
        seen = _exchange(hierarchy, base, url)
    lines = [line for line in _json_lines(log) if line["path"] != "/health"]
    assert len(lines) == len(seen), log.read_text()
    name = hierarchy.issuing.config.name
    for line, (method, path, status) in zip(lines, seen, strict=True):
        assert set(line) == FIELDS
        assert (line["method"], line["status"]) == (method, status)
        assert line["path"] == path or (
            len(path) > MAX_PATH_CHARS and line["path"] == path[: MAX_PATH_CHARS - 3] + "..."
        )
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
        assert line["duration_ms"] >= 0
        assert line["client"].startswith("127.0.0.1:")
    good, revoked, malformed, wrong_type, crl, ca_cert, missing, hostile = lines
    assert (good["ca"], good["ocsp"]) == (name, ["good"])
    assert (revoked["ca"], revoked["ocsp"]) == (name, ["revoked"])
    assert (malformed["status"], malformed["ca"], malformed["ocsp"]) == (
        200,
        None,
        ["malformedRequest"],
    )
    assert (wrong_type["status"], wrong_type["ocsp"]) == (415, None)
    assert (crl["status"], crl["ca"], crl["ocsp"]) == (200, name, None)
    assert (ca_cert["status"], ca_cert["ca"]) == (200, name)
    assert (missing["status"], missing["ca"]) == (404, None)
    assert len(hostile["path"]) == MAX_PATH_CHARS and hostile["ocsp"] == ["malformedRequest"]
    text = log.read_text()
    assert TEST_PASSPHRASE.decode() not in text
    assert max(len(line) for line in text.splitlines()) < 1000


def test_log_level_warning_keeps_answered_requests_out(pki: tuple[Hierarchy, Path]) -> None:
    hierarchy, base = pki
    args, url, log = _serve(base, "--log-level", "warning")
    env = {**os.environ, "TRUSTKIT_PASSPHRASE": ""}
    with serving(args, url=url, log=log, env=env):
        seen = _exchange(hierarchy, base, url)
    assert all(status < 500 for _, _, status in seen)
    assert _json_lines(log) == []


# In process: the middleware around an ASGI app that answers with real, signed OCSP responses.


class _CountingLog(AccessLog):
    reads = 0

    def _read_answer(self, answer: bytes) -> tuple[str | None, list[str] | None]:
        self.reads += 1
        return super()._read_answer(answer)


def _ocsp_answer(pki: Hierarchy, base: Path, name: str, status: ocsp.OCSPCertStatus) -> bytes:
    leaf = x509.load_der_x509_certificate((base / f"{name}.der").read_bytes())
    now = SystemClock().now()
    revoked = status is ocsp.OCSPCertStatus.REVOKED
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf,
        issuer=pki.issuing.certificate,
        algorithm=hashes.SHA256(),
        cert_status=status,
        this_update=now,
        next_update=now + timedelta(hours=1),
        revocation_time=now if revoked else None,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, pki.issuing.certificate)
    return builder.sign(pki.issuing.key, hashes.SHA256()).public_bytes(Encoding.DER)


async def _echo_ocsp(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app answering each request with the OCSP response its scope carries."""
    headers = [(b"content-type", b"application/ocsp-response")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": scope["answer"]})


def _answer_each(log: AccessLog, answers: list[bytes]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    async def run() -> None:
        for answer in answers:
            await log(
                {"type": "http", "method": "POST", "path": "/ocsp", "answer": answer}, receive, send
            )

    asyncio.run(run())


def test_the_same_answer_is_read_once_and_distinct_answers_never_confused(
    pki: tuple[Hierarchy, Path], caplog: pytest.LogCaptureFixture
) -> None:
    hierarchy, base = pki
    good = _ocsp_answer(hierarchy, base, "good", ocsp.OCSPCertStatus.GOOD)
    revoked = _ocsp_answer(hierarchy, base, "revoked", ocsp.OCSPCertStatus.REVOKED)
    log = _CountingLog(_echo_ocsp, [hierarchy.issuing])
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        _answer_each(log, [good, good, revoked, good, revoked])
    said = [json.loads(record.getMessage())["ocsp"] for record in caplog.records]
    assert said == [["good"], ["good"], ["revoked"], ["good"], ["revoked"]]
    assert log.reads == 2


def test_below_info_no_answer_is_read(
    pki: tuple[Hierarchy, Path], caplog: pytest.LogCaptureFixture
) -> None:
    hierarchy, base = pki
    good = _ocsp_answer(hierarchy, base, "good", ocsp.OCSPCertStatus.GOOD)
    log = _CountingLog(_echo_ocsp, [hierarchy.issuing])
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        _answer_each(log, [good, good])
    assert (log.reads, caplog.records) == (0, [])
