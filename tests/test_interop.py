"""Interop: chains trustkit issues verify with OpenSSL and GnuTLS, and fail with a wrong root.

For every built-in profile a certificate is issued from an issuing CA under a
root, then checked by ``openssl verify -x509_strict`` (with ``-purpose`` where
OpenSSL has one for the profile) and by GnuTLS ``certtool --verify`` (with
``--verify-purpose`` for profiles with an extended key usage). Each success
has twins that must fail: the same chain against another root of the same
name, and the certificate checked for a purpose it does not serve.

certtool cannot verify at another time, so this PKI is made a few minutes
before the real now; the fixed-time artefacts are checked in test_testdata.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.conftest import require
from trustkit.clock import FixedClock, utcnow
from trustkit.profiles import get_profile
from trustkit.testing import (
    LEAF_PROFILES,
    Hierarchy,
    Sample,
    certtool_verify,
    make_pki,
    openssl_verify,
)

pytestmark = pytest.mark.interop

OPENSSL_PURPOSE: Mapping[str, str | None] = {
    "tls-server": "sslserver",
    "tls-client": "sslclient",
    "citizen-auth": "sslclient",
    # No extended key usage and contentCommitment: OpenSSL's S/MIME signing check
    # (KU digitalSignature or nonRepudiation, EKU absent or emailProtection).
    "qualified-signature": "smimesign",
    "org-seal": "smimesign",
    # OpenSSL 3.0 has no code-signing purpose ("codesign" arrived in 3.2).
    "code-signing": None,
    "ocsp-signing": "ocsphelper",
    # Requires the one critical timeStamping EKU (RFC 3161 2.3).
    "timestamping": "timestampsign",
}
"""The ``openssl verify -purpose`` each built-in end-entity profile must pass."""

WRONG_PURPOSE: Mapping[str, str] = {
    name: ("sslclient" if name == "tls-server" else "sslserver") for name in LEAF_PROFILES
}
"""A purpose each profile must fail: TLS server for all but tls-server itself."""


def test_purpose_tables_cover_every_leaf_profile() -> None:
    assert set(OPENSSL_PURPOSE) == set(LEAF_PROFILES)


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    for tool in ("openssl", "certtool"):
        if shutil.which(tool) is None:
            require(tool)


def _pki(directory: Path) -> Iterator[Hierarchy]:
    # certtool checks validity against the real clock: start a little in the past.
    with make_pki(directory, FixedClock(utcnow() - timedelta(minutes=5))) as pki:
        yield pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hierarchy]:
    yield from _pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hierarchy]:
    """Same names, other keys: a wrong root that only signatures tell apart."""
    yield from _pki(tmp_path_factory.mktemp("other-pki"))


@pytest.fixture(scope="module")
def samples(pki: Hierarchy) -> dict[str, Sample]:
    return {name: pki.issue_sample(name) for name in LEAF_PROFILES}


def _eku(sample: Sample) -> x509.ObjectIdentifier | None:
    ekus = get_profile(sample.profile).extended_key_usage
    return ekus[0] if ekus else None


# --- OpenSSL ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", LEAF_PROFILES)
def test_openssl_verifies_chain(pki: Hierarchy, samples: dict[str, Sample], profile: str) -> None:
    result = openssl_verify(
        pki.root.certificate,
        [pki.issuing.certificate],
        samples[profile].certificate,
        purpose=OPENSSL_PURPOSE[profile],
    )
    assert result.ok, result.output


@pytest.mark.parametrize("profile", LEAF_PROFILES)
def test_openssl_rejects_wrong_root(
    pki: Hierarchy, other_pki: Hierarchy, samples: dict[str, Sample], profile: str
) -> None:
    assert other_pki.root.certificate.subject == pki.root.certificate.subject
    result = openssl_verify(
        other_pki.root.certificate,
        [pki.issuing.certificate],
        samples[profile].certificate,
        purpose=OPENSSL_PURPOSE[profile],
    )
    assert not result.ok, result.output
    assert "verification failed" in result.output


@pytest.mark.parametrize("profile", LEAF_PROFILES)
def test_openssl_rejects_wrong_purpose(
    pki: Hierarchy, samples: dict[str, Sample], profile: str
) -> None:
    result = openssl_verify(
        pki.root.certificate,
        [pki.issuing.certificate],
        samples[profile].certificate,
        purpose=WRONG_PURPOSE[profile],
    )
    assert not result.ok, result.output
    assert "unsuitable certificate purpose" in result.output


def test_openssl_verifies_issuing_ca(pki: Hierarchy, other_pki: Hierarchy) -> None:
    assert openssl_verify(pki.root.certificate, [], pki.issuing.certificate).ok
    assert not openssl_verify(other_pki.root.certificate, [], pki.issuing.certificate).ok


def test_openssl_verifies_root_as_its_own_anchor(pki: Hierarchy, other_pki: Hierarchy) -> None:
    assert openssl_verify(pki.root.certificate, [], pki.root.certificate).ok
    assert not openssl_verify(other_pki.root.certificate, [], pki.root.certificate).ok


# --- GnuTLS -----------------------------------------------------------------------


@pytest.mark.parametrize("profile", LEAF_PROFILES)
def test_certtool_verifies_chain(pki: Hierarchy, samples: dict[str, Sample], profile: str) -> None:
    sample = samples[profile]
    result = certtool_verify(
        pki.root.certificate, [sample.certificate, pki.issuing.certificate], purpose=_eku(sample)
    )
    assert result.ok, result.output


@pytest.mark.parametrize("profile", LEAF_PROFILES)
def test_certtool_rejects_wrong_root(
    pki: Hierarchy, other_pki: Hierarchy, samples: dict[str, Sample], profile: str
) -> None:
    sample = samples[profile]
    result = certtool_verify(
        other_pki.root.certificate,
        [sample.certificate, pki.issuing.certificate],
        purpose=_eku(sample),
    )
    assert not result.ok, result.output
    assert "NOT trusted" in result.output


@pytest.mark.parametrize(
    "profile", [name for name in LEAF_PROFILES if get_profile(name).extended_key_usage]
)
def test_certtool_rejects_wrong_purpose(
    pki: Hierarchy, samples: dict[str, Sample], profile: str
) -> None:
    sample = samples[profile]
    wrong = (
        ExtendedKeyUsageOID.CLIENT_AUTH
        if _eku(sample) == ExtendedKeyUsageOID.SERVER_AUTH
        else ExtendedKeyUsageOID.SERVER_AUTH
    )
    result = certtool_verify(
        pki.root.certificate, [sample.certificate, pki.issuing.certificate], purpose=wrong
    )
    assert not result.ok, result.output


def test_certtool_rejects_chain_without_issuing_ca(
    pki: Hierarchy, samples: dict[str, Sample]
) -> None:
    sample = samples["tls-server"]
    assert certtool_verify(pki.root.certificate, [sample.certificate, *pki.chain[:1]]).ok
    assert not certtool_verify(pki.root.certificate, [sample.certificate]).ok
