"""The OCSP responder as bytes in, bytes out; checked with cryptography and openssl."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from hypothesis import given, settings
from hypothesis import strategies as st

from trustkit.revocation.ocsp import (
    DELEGATED_CERT_FILE,
    DELEGATED_KEY_FILE,
    OCSPResponder,
    ResponderSettings,
    SigningMode,
)

from .conftest import PASSPHRASE, Hierarchy, make_hierarchy, openssl

NONCE_OID = x509.oid.OCSPExtensionOID.NONCE


def _request(
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    algorithm: hashes.HashAlgorithm | None = None,
    nonce: bytes | None = None,
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(Encoding.DER)


def _responder(h: Hierarchy, signing: SigningMode = SigningMode.DELEGATED) -> OCSPResponder:
    return OCSPResponder([h.ca], settings=ResponderSettings(signing=signing), passphrase=PASSPHRASE)


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256()], ids=["sha1", "sha256"])
def test_good_and_revoked(hierarchy: Hierarchy, algorithm: hashes.HashAlgorithm) -> None:
    responder = _responder(hierarchy)
    at = hierarchy.ca.clock.now()
    good = ocsp.load_der_ocsp_response(
        responder.respond(
            _request(hierarchy.good.certificate, hierarchy.ca.certificate, algorithm), at=at
        )
    )
    assert good.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert good.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert good.hash_algorithm.name == algorithm.name
    assert good.this_update_utc == at and good.next_update_utc == at + timedelta(hours=1)
    # producedAt is when it was signed (RFC 6960 4.2.2.1): cryptography's builder sets it.
    assert good.produced_at_utc >= at
    revoked = ocsp.load_der_ocsp_response(
        responder.respond(_request(hierarchy.revoked.certificate, hierarchy.ca.certificate), at=at)
    )
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_reason is x509.ReasonFlags.key_compromise
    assert revoked.revocation_time_utc == hierarchy.ca.get(hierarchy.revoked.serial).revocation_time


def test_delegated_signer_is_issued_kept_private_and_verifies(hierarchy: Hierarchy) -> None:
    responder = _responder(hierarchy)
    at = hierarchy.ca.clock.now()
    response = ocsp.load_der_ocsp_response(
        responder.respond(_request(hierarchy.good.certificate, hierarchy.ca.certificate), at=at)
    )
    (signer,) = response.certificates
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING in eku
    assert signer.issuer == hierarchy.ca.certificate.subject
    signer.verify_directly_issued_by(hierarchy.ca.certificate)
    key_file = hierarchy.ca.directory / DELEGATED_KEY_FILE
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in key_file.read_bytes()
    assert (hierarchy.ca.directory / DELEGATED_CERT_FILE).exists()
    # Near its end it is renewed.
    later = OCSPResponder([hierarchy.ca], passphrase=PASSPHRASE)
    renewed = ocsp.load_der_ocsp_response(
        later.respond(
            _request(hierarchy.good.certificate, hierarchy.ca.certificate),
            at=signer.not_valid_after_utc - timedelta(days=2),
        )
    )
    assert renewed.certificates[0].serial_number != signer.serial_number


def test_unknown_for_a_serial_never_issued(hierarchy: Hierarchy, tmp_path: Path) -> None:
    # A certificate from another CA with the same name and key would match the
    # CertID; simplest: forge one CertID with a serial never issued.
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        *_issuer_hashes(hierarchy), 0x0123456789ABCDEF01, hashes.SHA1()
    )
    response = ocsp.load_der_ocsp_response(
        _responder(hierarchy).respond(
            builder.build().public_bytes(Encoding.DER), at=hierarchy.ca.clock.now()
        )
    )
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def _issuer_hashes(h: Hierarchy) -> tuple[bytes, bytes]:
    request = ocsp.load_der_ocsp_request(_request(h.good.certificate, h.ca.certificate))
    return request.issuer_name_hash, request.issuer_key_hash


def test_unauthorized_for_another_issuer(hierarchy: Hierarchy, tmp_path: Path) -> None:
    stranger = make_hierarchy(tmp_path / "other", name="stranger")
    try:
        answer = _responder(hierarchy).respond(
            _request(stranger.good.certificate, stranger.ca.certificate),
            at=hierarchy.ca.clock.now(),
        )
        response = ocsp.load_der_ocsp_response(answer)
        assert response.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED
    finally:
        stranger.ca.close()


def test_nonce_echoed_and_limits(hierarchy: Hierarchy) -> None:
    responder = _responder(hierarchy, SigningMode.CA)
    at = hierarchy.ca.clock.now()
    leaf, issuer = hierarchy.good.certificate, hierarchy.ca.certificate
    response = ocsp.load_der_ocsp_response(
        responder.respond(_request(leaf, issuer, nonce=b"\x01" * 32), at=at)
    )
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"\x01" * 32
    assert response.certificates == []
    for bad in (b"", b"\x02" * 33):
        refused = ocsp.load_der_ocsp_response(
            responder.respond(_request(leaf, issuer, nonce=bad), at=at)
        )
        assert refused.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_several_requests_in_one_message_with_openssl(hierarchy: Hierarchy) -> None:
    request_file = hierarchy.directory / "req.der"
    leaves = [hierarchy.good, hierarchy.revoked, hierarchy.other]
    files = [hierarchy.write(f"leaf{i}.pem", leaf.pem()) for i, leaf in enumerate(leaves)]
    cert_args = [a for f in files for a in ("-cert", str(f))]
    made = openssl(
        "ocsp", "-issuer", hierarchy.root_pem, *cert_args, "-no_nonce", "-reqout", request_file
    )
    assert made.returncode == 0, made.stderr
    answer = _responder(hierarchy).respond(request_file.read_bytes(), at=hierarchy.ca.clock.now())
    response_file = hierarchy.write("resp.der", answer)
    checked = openssl(
        "ocsp",
        "-respin",
        response_file,
        "-issuer",
        hierarchy.root_pem,
        *cert_args,
        "-CAfile",
        hierarchy.root_pem,
        "-no_nonce",
    )
    out = checked.stdout + checked.stderr
    assert "Response verify OK" in out
    assert f"{files[0]}: good" in out
    assert f"{files[1]}: revoked" in out
    assert f"{files[2]}: good" in out
    # Negative twin: against another root the signature does not verify.
    other_root = hierarchy.write("wrong.pem", hierarchy.good.pem())
    wrong = openssl(
        "ocsp",
        "-respin",
        response_file,
        "-issuer",
        hierarchy.root_pem,
        *cert_args,
        "-CAfile",
        other_root,
        "-no_nonce",
    )
    assert "Response verify OK" not in wrong.stdout + wrong.stderr


def test_cache_reuses_until_revocation(hierarchy: Hierarchy) -> None:
    responder = _responder(hierarchy)
    at = hierarchy.ca.clock.now()
    request = _request(hierarchy.other.certificate, hierarchy.ca.certificate)
    first = responder.respond(request, at=at)
    assert responder.respond(request, at=at + timedelta(minutes=5)) == first
    hierarchy.ca.revoke(hierarchy.other.serial, x509.ReasonFlags.superseded)
    after = ocsp.load_der_ocsp_response(responder.respond(request, at=at + timedelta(minutes=5)))
    assert after.certificate_status is ocsp.OCSPCertStatus.REVOKED
    # With a nonce nothing is reused.
    with_nonce = _request(hierarchy.other.certificate, hierarchy.ca.certificate, nonce=b"n" * 16)
    assert responder.respond(with_nonce, at=at) != responder.respond(with_nonce, at=at)


@dataclass(frozen=True)
class FuzzTarget:
    responder: OCSPResponder
    request: bytes
    at: datetime


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    h = make_hierarchy(tmp_path_factory.mktemp("fuzz"))
    request = _request(h.good.certificate, h.ca.certificate, nonce=b"x" * 16)
    yield FuzzTarget(_responder(h, SigningMode.CA), request, h.ca.clock.now())
    h.ca.close()


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600))
def test_fuzz_garbage_is_malformed(fuzz_target: FuzzTarget, data: bytes) -> None:
    response = ocsp.load_der_ocsp_response(fuzz_target.responder.respond(data, at=fuzz_target.at))
    assert response.response_status in (
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
        ocsp.OCSPResponseStatus.UNAUTHORIZED,
        ocsp.OCSPResponseStatus.SUCCESSFUL,
    )


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_requests_always_answered(
    fuzz_target: FuzzTarget, data: st.DataObject
) -> None:
    request = bytearray(fuzz_target.request)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(request) - 1))
        request[index] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        request = request[: data.draw(st.integers(0, len(request)))]
    answer = fuzz_target.responder.respond(bytes(request), at=fuzz_target.at)
    ocsp.load_der_ocsp_response(answer)  # always a well-formed OCSPResponse


@pytest.mark.interop
def test_pkilint_finds_nothing_in_responses(hierarchy: Hierarchy) -> None:
    import subprocess

    at = hierarchy.ca.clock.now()
    responder = _responder(hierarchy)
    for label, leaf in (("good", hierarchy.good), ("revoked", hierarchy.revoked)):
        answer = responder.respond(
            _request(leaf.certificate, hierarchy.ca.certificate, nonce=b"z" * 16), at=at
        )
        path = hierarchy.write(f"{label}.ocsp", answer)
        result = subprocess.run(
            ["lint_ocsp_response", "lint", "-s", "WARNING", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert (result.stdout + result.stderr).strip() == "", label


def test_one_responder_for_a_hierarchy(hierarchy: Hierarchy, tmp_path: Path) -> None:
    from .conftest import issue_leaf

    sub = hierarchy.ca.create_subordinate(
        "CN=Citizen CA,O=Example Government,C=EX", tmp_path / "sub", passphrase=PASSPHRASE
    )
    try:
        leaf = issue_leaf(sub, "citizen.example.gov")
        sub.revoke(leaf.serial, x509.ReasonFlags.affiliation_changed)
        responder = OCSPResponder([hierarchy.ca, sub], passphrase=PASSPHRASE)
        at = hierarchy.ca.clock.now()
        answer = ocsp.load_der_ocsp_response(
            responder.respond(_request(leaf.certificate, sub.certificate), at=at)
        )
        assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
        assert answer.certificates[0].issuer == sub.certificate.subject
        # The sub-CA's own certificate, asked of the root, is good.
        own = ocsp.load_der_ocsp_response(
            responder.respond(_request(sub.certificate, hierarchy.ca.certificate), at=at)
        )
        assert own.certificate_status is ocsp.OCSPCertStatus.GOOD
    finally:
        sub.close()


@pytest.mark.postgres
def test_two_responders_share_a_postgresql_store(tmp_path: Path, postgres_url: str) -> None:
    from trustkit.ca import CertificateAuthority

    h = make_hierarchy(tmp_path, store=postgres_url)
    second = CertificateAuthority.open(h.ca.directory, passphrase=PASSPHRASE)
    try:
        one = _responder(h, SigningMode.CA)
        two = OCSPResponder([second], settings=ResponderSettings(signing=SigningMode.CA))
        request = _request(h.other.certificate, h.ca.certificate)
        at = h.ca.clock.now()
        for responder in (one, two):
            status = ocsp.load_der_ocsp_response(responder.respond(request, at=at))
            assert status.certificate_status is ocsp.OCSPCertStatus.GOOD
        h.ca.revoke(h.other.serial, x509.ReasonFlags.superseded)
        for responder in (one, two):
            status = ocsp.load_der_ocsp_response(responder.respond(request, at=at))
            assert status.certificate_status is ocsp.OCSPCertStatus.REVOKED
    finally:
        second.close()
        h.ca.close()
