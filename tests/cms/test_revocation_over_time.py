"""Signatures verified over time (ETSI EN 319 102-1): revocation evidence issued after
the signature timestamp is the right evidence. Each case beside OpenSSL's verdict on the
same files (``openssl cms -verify -crl_check_all``, the CRLs in its trust store).

OpenSSL has no notion of the signature timestamp: it checks the signer's certificate
at the verification time. Where trustkit, judging at the timestamp's time, must differ
(a certificate revoked *after* the signature was stamped), the test says so and checks
OpenSSL's verdict is the one it gives for that reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.cli import cli
from trustkit.clock import FixedClock
from trustkit.cms import Signer, sign
from trustkit.cms.verify import CheckName, Outcome, SignerReport, verify_cms
from trustkit.csr import create_csr
from trustkit.errors import InvalidSignatureError
from trustkit.keys import generate_key
from trustkit.names import parse_name
from trustkit.revocation.crl import build_crl
from trustkit.tsa import LocalTimestamper
from trustkit.validation import (
    Freshness,
    RevocationMode,
    RevocationStatus,
    ValidationPolicy,
)

from .conftest import ISSUED_AT, Pki

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

CONTENT = b"Decision 2025/31: the permit is granted.\n" * 20
STAMPED_AT = datetime(2025, 4, 1, 12, tzinfo=UTC)
"""The signature timestamp's time."""
NEXT_YEAR = datetime(2026, 3, 1, tzinfo=UTC)
"""When the signature is verified: the CRLs given are this time's, issued after the stamp."""
DAY = timedelta(days=1)
PUBLISHED = NEXT_YEAR - timedelta(hours=2)
"""When the CRLs given were published (each current for a day)."""
HARD = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)
SOFT = ValidationPolicy(revocation=RevocationMode.SOFT_FAIL)
MODES = pytest.mark.parametrize("policy", [HARD, SOFT], ids=["hard", "soft"])


@dataclass
class Case:
    signature: bytes
    cert: x509.Certificate
    crls: list[x509.CertificateRevocationList]


def _signer(pki: Pki, label: str) -> tuple[PrivateKeyTypes, x509.Certificate]:
    key = generate_key("ec-p256")
    subject = parse_name(f"CN=Over Time {label},O=Test Org,C=EX,2.5.4.97=VATEX-77")
    issued = pki.issuing.issue(create_csr(key, subject), "org-seal", at=ISSUED_AT)
    return key, issued.certificate


def _case(
    pki: Pki,
    label: str,
    *,
    revoked_at: datetime | None,
    reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
    stamped: bool = True,
) -> Case:
    key, cert = _signer(pki, label)
    if revoked_at is not None:
        pki.issuing.revoke(cert.serial_number, reason, at=revoked_at)
    timestamper = LocalTimestamper(pki.tsa, FixedClock(STAMPED_AT)) if stamped else None
    der = sign(
        CONTENT,
        Signer(key, cert, pki.chain),  # type: ignore[arg-type]
        at=STAMPED_AT,
        timestamper=timestamper,
    )
    # This year's CRLs, published shortly before verification: after the stamp.
    crls = [build_crl(ca, at=PUBLISHED).crl for ca in (pki.issuing, pki.root)]
    return Case(der, cert, crls)


def _verify(
    pki: Pki, case: Case, crls: Sequence[x509.CertificateRevocationList], **kw: object
) -> list[SignerReport]:
    return verify_cms(
        CONTENT,
        case.signature,
        trust_anchors=[pki.root.certificate],
        at=NEXT_YEAR,
        crls=crls,
        **kw,  # type: ignore[arg-type]
    )


def _openssl(pki: Pki, case: Case, tmp: Path) -> subprocess.CompletedProcess[str]:
    """``openssl cms -verify -crl_check_all`` at the verification time, with the CRLs in
    the trust store (OpenSSL reads CRLs from -CAfile alongside the certificates)."""
    store = tmp / "store.pem"
    store.write_bytes(
        pki.root.certificate.public_bytes(Encoding.PEM)
        + b"".join(c.public_bytes(Encoding.PEM) for c in case.crls)
    )
    (tmp / "sig.p7s").write_bytes(case.signature)
    (tmp / "content.bin").write_bytes(CONTENT)
    return subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(tmp / "sig.p7s"), "-content", str(tmp / "content.bin"),
            "-CAfile", str(store), "-purpose", "any", "-crl_check_all",
            "-attime", str(int(NEXT_YEAR.timestamp())), "-out", str(tmp / "out.bin"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


@MODES
@pytest.mark.parametrize("reverse", [False, True], ids=["given-order", "reversed"])
def test_signed_with_an_already_revoked_key_is_invalid(
    pki: Pki, tmp_path: Path, policy: ValidationPolicy, reverse: bool
) -> None:
    """A stolen key, revoked for keyCompromise, and any TSA: no forgery passes."""
    revoked_at = STAMPED_AT - 10 * DAY
    case = _case(pki, f"forged {policy.revocation.value} {reverse}", revoked_at=revoked_at)
    # Also give an old CRL from before the revocation: it must not hide the newer one.
    old = build_crl(pki.issuing, at=revoked_at - DAY).crl
    crls = [old, *case.crls]
    with pytest.raises(InvalidSignatureError, match="revoked at") as info:
        _verify(pki, case, crls[::-1] if reverse else crls, policy=policy)
    (report,) = info.value.reports
    assert isinstance(report, SignerReport)
    assert report.check(CheckName.CERTIFICATE_PATH).outcome is Outcome.FAILED
    (evidence,) = report.revocation
    assert evidence.status is RevocationStatus.REVOKED
    assert evidence.revocation_time == revoked_at
    assert evidence.reason == "keyCompromise"
    assert evidence.decided_by and evidence.decided_by[0].freshness is Freshness.LATER
    # OpenSSL agrees: certificate revoked.
    done = _openssl(pki, case, tmp_path)
    assert done.returncode != 0 and "certificate revoked" in done.stderr, done.stderr


@MODES
def test_genuine_stamped_signature_verifies_with_newer_crls(
    pki: Pki, tmp_path: Path, policy: ValidationPolicy
) -> None:
    """The twin: nothing revoked, CRLs newer than the stamp: valid, hard-fail included."""
    case = _case(pki, f"genuine {policy.revocation.value}", revoked_at=None)
    (report,) = _verify(pki, case, case.crls, policy=policy)
    assert report.valid
    assert report.validation_time == STAMPED_AT
    assert [e.status for e in report.revocation] == [RevocationStatus.GOOD] * 2
    assert all(e.decided_by[0].freshness is Freshness.LATER for e in report.revocation)
    # OpenSSL agrees: valid.
    done = _openssl(pki, case, tmp_path)
    assert done.returncode == 0, done.stderr


@MODES
def test_revoked_after_the_stamp_stays_valid_and_says_so(
    pki: Pki, tmp_path: Path, policy: ValidationPolicy
) -> None:
    revoked_at = STAMPED_AT + 30 * DAY
    case = _case(pki, f"later {policy.revocation.value}", revoked_at=revoked_at)
    (report,) = _verify(pki, case, case.crls, policy=policy)
    assert report.valid
    leaf = report.revocation[0]
    assert leaf.status is RevocationStatus.GOOD and leaf.revoked_after_validation_time
    assert leaf.revocation_time == revoked_at and leaf.reason == "keyCompromise"
    # OpenSSL differs here by design: it has no notion of the timestamp and checks the
    # certificate at the verification time, when it is revoked.
    done = _openssl(pki, case, tmp_path)
    assert done.returncode != 0 and "certificate revoked" in done.stderr, done.stderr
    # Without a timestamp trustkit judges at the verification time too, and agrees.
    unstamped = _case(
        pki, f"unstamped {policy.revocation.value}", revoked_at=revoked_at, stamped=False
    )
    with pytest.raises(InvalidSignatureError, match="revoked at"):
        _verify(pki, unstamped, unstamped.crls, policy=policy)
    assert _openssl(pki, unstamped, tmp_path).returncode != 0


def test_cli_reports_the_deciding_evidence(pki: Pki, tmp_path: Path) -> None:
    forged = _case(pki, "cli forged", revoked_at=STAMPED_AT - 10 * DAY)
    later = _case(pki, "cli later", revoked_at=STAMPED_AT + 30 * DAY)
    (tmp_path / "doc.txt").write_bytes(CONTENT)
    (tmp_path / "root.pem").write_bytes(pki.root.certificate.public_bytes(Encoding.PEM))
    crl_file = tmp_path / "current.crl"
    crl_file.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in later.crls))

    def run(case: Case, *extra: str) -> tuple[int, str, str]:
        (tmp_path / "sig.p7s").write_bytes(case.signature)
        result = CliRunner().invoke(
            cli,
            [
                "verify", str(tmp_path / "doc.txt"), "--signature", str(tmp_path / "sig.p7s"),
                "--trust", str(tmp_path / "root.pem"), "--crl", str(crl_file),
                "--at", NEXT_YEAR.isoformat(), *extra,
            ],
        )  # fmt: skip
        return result.exit_code, result.output, result.stdout

    code, out, _ = run(forged)
    assert code == 1
    assert "INVALID" in out and "REVOKED at" in out and "keyCompromise" in out
    assert "decided by CRL #" in out and "(none)" not in out
    code, out, _ = run(later)
    assert code == 0, out
    assert "VALID" in out and "revoked later" in out and "signature stands" in out
    code, _, stdout = run(forged, "--json")
    assert code == 1
    (signer,) = json.loads(stdout)["signers"]
    (leaf,) = signer["revocation"]
    assert leaf["status"] == "revoked" and leaf["reason"] == "keyCompromise"
    assert leaf["decided_by"][0]["source"] == "crl"
    assert leaf["decided_by"][0]["freshness"] == "later"


def test_cli_unknown_is_never_none_when_crls_were_given(pki: Pki, tmp_path: Path) -> None:
    case = _case(pki, "cli unknown", revoked_at=None, stamped=False)
    (tmp_path / "doc.txt").write_bytes(CONTENT)
    (tmp_path / "sig.p7s").write_bytes(case.signature)
    (tmp_path / "root.pem").write_bytes(pki.root.certificate.public_bytes(Encoding.PEM))
    # Only the other root's CRL: given, but about none of these certificates.
    stranger = tmp_path / "other.crl"
    stranger.write_bytes(build_crl(pki.other_root, at=PUBLISHED).pem())
    result = CliRunner().invoke(
        cli,
        [
            "verify", str(tmp_path / "doc.txt"), "--signature", str(tmp_path / "sig.p7s"),
            "--trust", str(tmp_path / "root.pem"), "--crl", str(stranger),
            "--at", NEXT_YEAR.isoformat(),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "unknown: no CRL or OCSP response covers it (1 CRL(s) given" in result.output
    assert "(none)" not in result.output
