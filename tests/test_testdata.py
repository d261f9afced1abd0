"""The committed certs-testdata/ files: they parse, verify at the spec's time, and match the spec.

See certs-testdata/README.md. ``openssl verify -attime`` checks each chain at
the spec's ``verify_at``; twins check it fails before the spec's ``at`` and
against another root of the same name. The last test runs generate.py again
over the committed keys and compares what it makes with what is committed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import require
from tests.test_interop import OPENSSL_PURPOSE
from trustkit.clock import FixedClock
from trustkit.csr import load_csr, requested_sans, verify_proof_of_possession
from trustkit.encoding import load_certificate, load_certificates
from trustkit.errors import TrustkitError
from trustkit.keys import KeyType, PrivateKey, key_type_of, load_private_key_file
from trustkit.names import parse_general_names, parse_name
from trustkit.profiles import get_profile
from trustkit.testing import Hierarchy, make_pki, openssl_verify

TESTDATA = Path(__file__).resolve().parent.parent / "certs-testdata"
SPEC: Mapping[str, Any] = tomllib.loads((TESTDATA / "spec.toml").read_text(encoding="utf-8"))
AT: datetime = SPEC["at"]
VERIFY_AT: datetime = SPEC["verify_at"]
ENTRIES: list[Mapping[str, Any]] = list(SPEC["certificate"])
CSRS: list[Mapping[str, Any]] = list(SPEC["csr"])


def _ids(entries: list[Mapping[str, Any]]) -> list[str]:
    return [str(entry["file"]) for entry in entries]


def _certificate(name: str) -> x509.Certificate:
    path = TESTDATA / f"{name}.pem"
    return load_certificate(path.read_bytes(), what=str(path))


def _spki(key: PrivateKey | PublicKeyTypes) -> bytes:
    public_key = key.public_key() if isinstance(key, PrivateKey) else key
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def root() -> x509.Certificate:
    return _certificate(SPEC["root"]["file"])


@pytest.fixture(scope="module")
def issuing() -> x509.Certificate:
    return _certificate(SPEC["issuing"]["file"])


@pytest.fixture(scope="module")
def impostor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hierarchy]:
    """A hierarchy with the spec's names and time but keys of its own."""
    with make_pki(
        tmp_path_factory.mktemp("impostor"),
        FixedClock(AT),
        root_subject=SPEC["root"]["subject"],
        issuing_subject=SPEC["issuing"]["subject"],
    ) as pki:
        yield pki


@pytest.fixture(scope="module", autouse=True)
def _openssl() -> None:
    if shutil.which("openssl") is None:
        require("openssl")


def mismatches(certificate: x509.Certificate, entry: Mapping[str, Any]) -> list[str]:
    """How ``certificate`` differs from what its spec ``entry`` says it is."""
    found = []
    if certificate.subject != parse_name(entry["subject"]):
        found.append(f"subject {certificate.subject.rfc4514_string()}")
    if certificate.issuer != parse_name(SPEC["issuing"]["subject"]):
        found.append(f"issuer {certificate.issuer.rfc4514_string()}")
    if certificate.not_valid_before_utc != AT:
        found.append(f"notBefore {certificate.not_valid_before_utc}")
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        actual_sans = list(sans.value)
    except x509.ExtensionNotFound:
        actual_sans = []
    if actual_sans != parse_general_names(entry.get("sans", ())):
        found.append(f"SANs {actual_sans}")
    if key_type_of(certificate.public_key()) is not KeyType.parse(entry["key_type"]):
        found.append("key type")
    key = load_private_key_file(TESTDATA / "keys" / f"{entry['file']}.key", None)
    if _spki(key) != _spki(certificate.public_key()):
        found.append("public key is not that of keys/" + entry["file"] + ".key")
    profile = get_profile(entry["profile"])
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    if not usage.critical or usage.value != profile.key_usage_extension():
        found.append(f"key usage {usage.value}")
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        ekus, eku_critical = tuple(eku.value), eku.critical
    except x509.ExtensionNotFound:
        ekus, eku_critical = (), False
    if ekus != profile.extended_key_usage or eku_critical != profile.extended_key_usage_critical:
        found.append(f"extended key usage {ekus}")
    return found


# --- the files parse and are what the spec says -------------------------------------


def test_ca_certificates_match_spec(root: x509.Certificate, issuing: x509.Certificate) -> None:
    assert root.subject == root.issuer == parse_name(SPEC["root"]["subject"])
    assert issuing.subject == parse_name(SPEC["issuing"]["subject"])
    assert issuing.issuer == root.subject
    assert root.not_valid_before_utc == issuing.not_valid_before_utc == AT
    constraints = issuing.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == SPEC["issuing"]["path_length"]
    chain = load_certificates((TESTDATA / "chain.pem").read_bytes())
    assert chain == [issuing, root]


def test_issuing_ca_verifies_under_root(root: x509.Certificate, issuing: x509.Certificate) -> None:
    assert openssl_verify(root, [], issuing, at=VERIFY_AT).ok
    assert openssl_verify(root, [], root, at=VERIFY_AT).ok


def test_issuing_ca_twin_is_no_anchor_for_root(
    root: x509.Certificate, issuing: x509.Certificate
) -> None:
    assert not openssl_verify(issuing, [], root, at=VERIFY_AT).ok


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_certificate_matches_spec(entry: Mapping[str, Any]) -> None:
    assert mismatches(_certificate(entry["file"]), entry) == []


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_certificate_does_not_match_another_entry(entry: Mapping[str, Any]) -> None:
    other = ENTRIES[(ENTRIES.index(entry) + 1) % len(ENTRIES)]
    assert mismatches(_certificate(other["file"]), entry) != []


def test_spec_covers_every_builtin_end_entity_profile() -> None:
    assert sorted(entry["profile"] for entry in ENTRIES) == sorted(OPENSSL_PURPOSE)


@pytest.mark.parametrize("entry", CSRS, ids=_ids(CSRS))
def test_csr_matches_spec(entry: Mapping[str, Any]) -> None:
    csr = load_csr((TESTDATA / f"{entry['file']}.csr").read_bytes())
    verify_proof_of_possession(csr)
    assert csr.subject == parse_name(entry["subject"])
    assert requested_sans(csr) == parse_general_names(entry["sans"])
    key = load_private_key_file(TESTDATA / "keys" / f"{entry['file']}.key", None)
    assert _spki(key) == _spki(csr.public_key())


@pytest.mark.parametrize("entry", CSRS, ids=_ids(CSRS))
def test_csr_twin_tampered_fails_proof_of_possession(entry: Mapping[str, Any]) -> None:
    der = bytearray(
        load_csr((TESTDATA / f"{entry['file']}.csr").read_bytes()).public_bytes(Encoding.DER)
    )
    der[-1] ^= 0x01  # the last byte of the signature
    with pytest.raises(TrustkitError):
        verify_proof_of_possession(load_csr(bytes(der)))


# --- the chains verify with OpenSSL at the spec's time -----------------------------


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_chain_verifies_at_spec_time(
    root: x509.Certificate, issuing: x509.Certificate, entry: Mapping[str, Any]
) -> None:
    result = openssl_verify(
        root,
        [issuing],
        _certificate(entry["file"]),
        purpose=OPENSSL_PURPOSE[entry["profile"]],
        at=VERIFY_AT,
    )
    assert result.ok, result.output


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_chain_twin_fails_before_spec_time(
    root: x509.Certificate, issuing: x509.Certificate, entry: Mapping[str, Any]
) -> None:
    result = openssl_verify(
        root, [issuing], _certificate(entry["file"]), at=AT - timedelta(seconds=1)
    )
    assert not result.ok
    assert "not yet valid" in result.output


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_chain_twin_fails_with_another_root(
    issuing: x509.Certificate, impostor: Hierarchy, entry: Mapping[str, Any]
) -> None:
    result = openssl_verify(
        impostor.root.certificate, [issuing], _certificate(entry["file"]), at=VERIFY_AT
    )
    assert not result.ok
    assert "verification failed" in result.output


# --- generate.py reproduces the committed files ------------------------------------


def _without_serial(certificate: x509.Certificate) -> tuple[object, ...]:
    """Everything in a certificate that generate.py makes the same on every run."""
    return (
        certificate.subject,
        certificate.issuer,
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
        _spki(certificate.public_key()),
        tuple(certificate.extensions),
    )


def test_generate_reproduces_committed_files(tmp_path: Path) -> None:
    shutil.copytree(TESTDATA / "keys", tmp_path / "keys")
    done = subprocess.run(
        [sys.executable, str(TESTDATA / "generate.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = [SPEC["root"]["file"], SPEC["issuing"]["file"], *_ids(ENTRIES)]
    for name in names:
        fresh = load_certificate((tmp_path / f"{name}.pem").read_bytes())
        committed = _certificate(name)
        assert fresh.serial_number != committed.serial_number, name
        assert _without_serial(fresh) == _without_serial(committed), name
    for entry in CSRS:
        fresh_csr = load_csr((tmp_path / f"{entry['file']}.csr").read_bytes())
        committed_csr = load_csr((TESTDATA / f"{entry['file']}.csr").read_bytes())
        assert fresh_csr.subject == committed_csr.subject
        assert _spki(fresh_csr.public_key()) == _spki(committed_csr.public_key())


def test_generate_twin_refuses_spec_without_time(tmp_path: Path) -> None:
    spec = (TESTDATA / "spec.toml").read_text(encoding="utf-8")
    broken = tmp_path / "spec.toml"
    broken.write_text(spec.replace("at = 2026", "when = 2026", 1), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            str(TESTDATA / "generate.py"),
            "--spec",
            str(broken),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "missing 'at'" in done.stderr
    assert not (tmp_path / "root-ca.pem").exists()
