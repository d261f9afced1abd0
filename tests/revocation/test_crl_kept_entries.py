"""Complete CRLs keep their entries between builds and read only what was revoked since."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from trustkit.ca import CertificateAuthority
from trustkit.revocation.crl import build_crl

from .conftest import PASSPHRASE, issue_leaf, make_hierarchy, openssl


def _serials(der: bytes) -> set[int]:
    return {entry.serial_number for entry in x509.load_der_x509_crl(der)}


def test_revocations_through_another_handle_reach_the_next_crl(tmp_path: Path) -> None:
    h = make_hierarchy(tmp_path)
    # Another process's view of the same CA: its own store object.
    other = CertificateAuthority.open(tmp_path / "ca", passphrase=PASSPHRASE)
    try:
        at = h.ca.clock.now()
        first = build_crl(h.ca, at=at)
        assert _serials(first.der) == {h.revoked.serial}
        # Negative twin: what was not revoked is not listed.
        assert h.good.serial not in _serials(first.der)

        other.revoke(h.good.serial, x509.ReasonFlags.key_compromise)
        late = issue_leaf(other, "late.example.gov")
        other.revoke(late.serial, x509.ReasonFlags.superseded)
        second = build_crl(h.ca, at=at)
        assert _serials(second.der) == {h.revoked.serial, h.good.serial, late.serial}
        assert second.entries == 3 and second.crl_number > first.crl_number
        crl = second.crl
        assert crl.is_signature_valid(h.ca.certificate.public_key())  # type: ignore[arg-type]
        reason = crl.get_revoked_certificate_by_serial_number(late.serial)
        assert reason is not None
        assert reason.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
            x509.ReasonFlags.superseded
        )
        checked = openssl(
            "crl", "-inform", "DER", "-in", h.write("second.crl", second.der),
            "-CAfile", h.root_pem, "-noout",
        )  # fmt: skip
        assert "verify OK" in checked.stdout + checked.stderr

        # Made again with nothing new: the same entries, and the other handle agrees.
        again = build_crl(h.ca, at=at)
        assert _serials(again.der) == _serials(second.der)
        assert _serials(build_crl(other, at=at).der) == _serials(second.der)
    finally:
        other.close()
        h.ca.close()
