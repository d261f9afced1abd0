"""CRLs: complete, delta and partitioned, checked with cryptography and openssl."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.errors import AlreadyRevokedError, ConfigError, NotFoundError, RevocationError
from trustkit.keys import signature_hash_for
from trustkit.revocation.crl import build_crl, current_crl

from .conftest import Hierarchy, issue_leaf, make_hierarchy, openssl


def _verify_crl(h: Hierarchy, der: bytes, name: str = "ca.crl") -> str:
    crl_file = h.write(name, der)
    result = openssl("crl", "-inform", "DER", "-in", crl_file, "-CAfile", h.root_pem, "-noout")
    return result.stdout + result.stderr


def test_complete_crl_lists_revoked_with_reason(hierarchy: Hierarchy) -> None:
    at = hierarchy.ca.clock.now()
    crl = build_crl(hierarchy.ca, at=at)
    parsed = crl.crl
    assert parsed.is_signature_valid(hierarchy.ca.certificate.public_key())  # type: ignore[arg-type]
    assert [r.serial_number for r in parsed] == [hierarchy.revoked.serial]
    entry = parsed.get_revoked_certificate_by_serial_number(hierarchy.revoked.serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    assert parsed.get_revoked_certificate_by_serial_number(hierarchy.good.serial) is None
    assert parsed.next_update_utc == parsed.last_update_utc + timedelta(hours=24)
    assert parsed.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    aki = parsed.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == bytes.fromhex(hierarchy.ca.id)
    assert "verify OK" in _verify_crl(hierarchy, crl.der)
    assert crl.pem().startswith(b"-----BEGIN X509 CRL-----")


def test_tampered_crl_fails_openssl(hierarchy: Hierarchy) -> None:
    der = bytearray(build_crl(hierarchy.ca, at=hierarchy.ca.clock.now()).der)
    der[-10] ^= 0x01
    assert "verify OK" not in _verify_crl(hierarchy, bytes(der))


def test_many_entries_are_spliced_into_a_valid_crl(hierarchy: Hierarchy) -> None:
    ca = hierarchy.ca
    extra = [issue_leaf(ca, f"h{i}.example.gov") for i in range(5)]
    for i, leaf in enumerate(extra):
        ca.revoke(
            leaf.serial,
            x509.ReasonFlags.superseded if i % 2 else x509.ReasonFlags.unspecified,
            invalidity_date=ca.clock.now() - timedelta(days=1),
        )
    crl = build_crl(ca, at=ca.clock.now())
    parsed = crl.crl
    assert len(parsed) == 6
    assert parsed.is_signature_valid(ca.certificate.public_key())  # type: ignore[arg-type]
    entry = parsed.get_revoked_certificate_by_serial_number(extra[0].serial)
    assert entry is not None
    # RFC 5280 5.3.1: unspecified is left out rather than written.
    with pytest.raises(x509.ExtensionNotFound):
        entry.extensions.get_extension_for_class(x509.CRLReason)
    assert entry.extensions.get_extension_for_class(x509.InvalidityDate)
    assert "verify OK" in _verify_crl(hierarchy, crl.der)


def test_crl_numbers_increase(hierarchy: Hierarchy) -> None:
    at = hierarchy.ca.clock.now()
    numbers = [build_crl(hierarchy.ca, at=at).crl_number for _ in range(3)]
    assert numbers == sorted(set(numbers)) and numbers[0] >= 1


def test_revoked_certificate_fails_openssl_verify_crl_check(hierarchy: Hierarchy) -> None:
    crl = build_crl(hierarchy.ca, at=hierarchy.ca.clock.now())
    crl_file = hierarchy.write("ca.crl", crl.pem())
    good = hierarchy.write("good.pem", hierarchy.good.pem())
    bad = hierarchy.write("bad.pem", hierarchy.revoked.pem())
    ok = openssl("verify", "-crl_check", "-CRLfile", crl_file, "-CAfile", hierarchy.root_pem, good)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    revoked = openssl(
        "verify", "-crl_check", "-CRLfile", crl_file, "-CAfile", hierarchy.root_pem, bad
    )
    assert revoked.returncode != 0
    assert "certificate revoked" in revoked.stdout + revoked.stderr


def test_revoke_twice_or_unknown_changes_nothing(hierarchy: Hierarchy) -> None:
    ca = hierarchy.ca
    before = ca.store.revocation_seq(ca.id)
    with pytest.raises(AlreadyRevokedError):
        ca.revoke(hierarchy.revoked.serial, x509.ReasonFlags.superseded)
    with pytest.raises(NotFoundError):
        ca.revoke(0x1234567890ABCDEF1234, x509.ReasonFlags.superseded)
    assert ca.store.revocation_seq(ca.id) == before
    record = ca.get(hierarchy.revoked.serial)
    assert record.revocation_reason is x509.ReasonFlags.key_compromise


def test_partitioned_crls_carry_matching_idp(tmp_path: Path) -> None:
    h = make_hierarchy(tmp_path, shards=3)
    try:
        ca = h.ca
        at = ca.clock.now()
        shard_of_revoked = h.revoked.record.shard
        dp = h.revoked.certificate.extensions.get_extension_for_class(
            x509.CRLDistributionPoints
        ).value[0]
        for shard in range(3):
            crl = build_crl(ca, at=at, shard=shard)
            idp_ext = crl.crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
            assert idp_ext.critical
            assert idp_ext.value.full_name == [x509.UniformResourceIdentifier(ca.crl_url(shard))]
            serials = [r.serial_number for r in crl.crl]
            assert serials == ([h.revoked.serial] if shard == shard_of_revoked else [])
            assert "verify OK" in _verify_crl(h, crl.der, f"s{shard}.crl")
        own = build_crl(ca, at=at, shard=shard_of_revoked).crl
        idp = own.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
        assert idp.full_name == dp.full_name
        with pytest.raises(ConfigError):
            build_crl(ca, at=at, shard=3)
    finally:
        h.ca.close()


def test_delta_crl_lists_revocations_since_base(tmp_path: Path) -> None:
    h = make_hierarchy(tmp_path, delta=True)
    try:
        ca = h.ca
        at = ca.clock.now()
        freshest = h.good.certificate.extensions.get_extension_for_class(x509.FreshestCRL)
        assert freshest.value[0].full_name == [
            x509.UniformResourceIdentifier("http://pki.example.gov/crl/test-root-delta.crl")
        ]
        base = build_crl(ca, at=at)
        ca.revoke(h.other.serial, x509.ReasonFlags.cessation_of_operation)
        delta = build_crl(ca, at=at, delta=True)
        indicator = delta.crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
        assert indicator.critical and indicator.value.crl_number == base.crl_number
        assert [r.serial_number for r in delta.crl] == [h.other.serial]
        assert delta.crl_number > base.crl_number
        assert "verify OK" in _verify_crl(h, delta.der, "delta.crl")
        # The next complete CRL has both and a new base; a delta on it is empty.
        full = build_crl(ca, at=at)
        assert len(full.crl) == 2
        assert len(build_crl(ca, at=at, delta=True).crl) == 0
    finally:
        h.ca.close()


def test_delta_needs_a_base_and_the_setting(hierarchy: Hierarchy, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        build_crl(hierarchy.ca, at=hierarchy.ca.clock.now(), delta=True)
    h = make_hierarchy(tmp_path / "d", delta=True)
    try:
        with pytest.raises(RevocationError):
            build_crl(h.ca, at=h.ca.clock.now(), delta=True)
    finally:
        h.ca.close()


def test_current_crl_reuses_until_a_revocation(hierarchy: Hierarchy) -> None:
    ca = hierarchy.ca
    at = ca.clock.now()
    first = current_crl(ca, at=at)
    assert current_crl(ca, at=at + timedelta(hours=1)).crl_number == first.crl_number
    # Past half its life it is remade.
    assert current_crl(ca, at=at + timedelta(hours=13)).crl_number > first.crl_number
    ca.revoke(hierarchy.other.serial, x509.ReasonFlags.superseded)
    later = current_crl(ca, at=at + timedelta(hours=13))
    assert len(later.crl) == 2


@pytest.mark.postgres
def test_crl_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    h = make_hierarchy(tmp_path, store=postgres_url, delta=True)
    try:
        at = h.ca.clock.now()
        base = build_crl(h.ca, at=at)
        assert [r.serial_number for r in base.crl] == [h.revoked.serial]
        h.ca.revoke(h.other.serial, x509.ReasonFlags.superseded)
        delta = build_crl(h.ca, at=at, delta=True)
        assert [r.serial_number for r in delta.crl] == [h.other.serial]
        assert "verify OK" in _verify_crl(h, delta.der)
    finally:
        h.ca.close()


def _lint_crl(path: Path) -> str:
    import subprocess

    result = subprocess.run(
        ["lint_crl", "lint", "-t", "CRL", "-p", "PKIX", "-s", "WARNING", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return (result.stdout + result.stderr).strip()


@pytest.mark.interop
def test_pkilint_finds_nothing_in_complete_shard_and_delta_crls(tmp_path: Path) -> None:
    h = make_hierarchy(tmp_path, shards=2, delta=True)
    try:
        at = h.ca.clock.now()
        for label, crl in (
            ("full", build_crl(h.ca, at=at)),
            ("shard", build_crl(h.ca, at=at, shard=h.revoked.record.shard)),
            ("delta", build_crl(h.ca, at=at, delta=True)),
        ):
            assert _lint_crl(h.write(f"{label}.crl", crl.der)) == "", label
        # Negative twin: a bare CRL without number or AKI is reported.
        key = h.ca.key
        bare = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(h.ca.certificate.subject)
            .last_update(at)
            .next_update(at + timedelta(days=1))
            .sign(key, signature_hash_for(key))
        )
        assert _lint_crl(h.write("bare.crl", bare.public_bytes(Encoding.DER))) != ""
    finally:
        h.ca.close()
