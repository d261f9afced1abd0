"""Which certificates a timestamp token carries: the TSA certificate and its
intermediates, never the trust anchor (RFC 3161 2.4.1 certReq, RFC 5652 5.1); a
relying party that holds only the root still verifies it, with openssl too."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.cms.conftest import ISSUED_AT, SIGNED_AT, Pki, build_pki
from trustkit._asn1 import parse_signed_data
from trustkit.cms import DigestAlgorithm
from trustkit.tsa import TimestampAuthority


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    yield from build_pki(tmp_path_factory)


def _embedded(token: bytes) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(c) for c in parse_signed_data(token).certificates]


def test_token_carries_the_tsa_and_its_intermediate_but_not_the_root(pki: Pki) -> None:
    assert pki.tsa.chain[-1] == pki.root.certificate  # the chain file does hold the root
    token = pki.tsa.timestamp_token(
        hashlib.sha256(b"x").digest(), DigestAlgorithm.SHA256, at=SIGNED_AT
    )
    embedded = _embedded(token)
    assert pki.tsa.certificate in embedded
    assert pki.issuing.certificate in embedded
    assert pki.root.certificate not in embedded
    assert len(embedded) == 2


def test_a_tsa_certified_by_the_root_itself_carries_its_own_certificate(
    pki: Pki, tmp_path: Path
) -> None:
    # The twin: with the root as direct issuer, only the TSA certificate travels.
    tsa = TimestampAuthority.create(
        pki.root, tmp_path / "tsa", subject="CN=Root TSA,O=Test", passphrase=b"p", at=ISSUED_AT
    )
    try:
        token = tsa.timestamp_token(
            hashlib.sha256(b"x").digest(), DigestAlgorithm.SHA256, at=SIGNED_AT
        )
        assert _embedded(token) == [tsa.certificate]
    finally:
        tsa.close()


@pytest.mark.interop
@pytest.mark.parametrize("anchor", ["root", "other"])
def test_openssl_verifies_a_reply_with_only_the_root(pki: Pki, tmp_path: Path, anchor: str) -> None:
    data = tmp_path / "data.txt"
    data.write_bytes(b"a document\n")
    query = tmp_path / "q.tsq"
    subprocess.run(
        ["openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)],
        check=True,
        capture_output=True,
    )
    reply = tmp_path / "r.tsr"
    reply.write_bytes(pki.tsa.respond(query.read_bytes(), at=SIGNED_AT))
    ca = pki.root if anchor == "root" else pki.other_root
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.certificate.public_bytes(Encoding.PEM))
    result = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-in",
            str(reply),
            "-queryfile",
            str(query),
            "-CAfile",
            str(ca_file),
            "-attime",
            str(int(SIGNED_AT.timestamp())),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode == 0) is (anchor == "root"), result.stdout + result.stderr
