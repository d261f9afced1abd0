"""The PKI every fuzz target works against, rebuilt the same way on each run.

Keys are derived from fixed labels, names and times are constants, so a seed
made by ``make_corpus.py`` yesterday (a CMS signature, an OCSP request, a
timestamp reply) still chains to, and is answered by, the world a target
builds today: the certificates differ only in their random serials, and
path building goes by name and key. The serials are the one thing a seed CRL
or OCSP response speaks of, so the targets that read those check the
certificates of the seed corpus (:func:`seeded`), from the same run.

Nothing here is secret or for production: the keys are public by construction.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tests.fuzz._harness import CORPUS
from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.encoding import load_certificate
from trustkit.revocation.crl import build_crl
from trustkit.revocation.ocsp import OCSPResponder, ResponderSettings, SigningMode
from trustkit.testing import Hierarchy, make_pki
from trustkit.tsa import TimestampAuthority

ISSUED_AT = datetime(2026, 1, 1, tzinfo=UTC)
"""When the world's CAs and certificates were made."""
AT = datetime(2026, 1, 11, 12, 0, tzinfo=UTC)
"""When targets validate, answer and verify."""
CONTENT = b"Application for a parking permit, form 12-B\n"
"""What the seed CMS signatures sign (detached)."""
TSA_DIGEST = hashlib.sha256(b"fuzzed document").digest()
"""The imprint of the seed timestamp replies."""
TSA_NONCE = 0x1234_5678_9ABC_DEF1
"""The nonce of the seed timestamp replies."""

DER = Encoding.DER


def fixed_key(label: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 key derived from ``label``: the same on every run, and public."""
    scalar = int.from_bytes(hashlib.sha256(b"trustkit fuzz " + label.encode()).digest()) >> 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


@cache
def seeded(name: str) -> x509.Certificate:
    """``leaf`` or ``revoked`` as ``make_corpus.py`` made them, with the seed CRL and
    OCSP responses: the good and the revoked certificate those speak of."""
    return load_certificate((CORPUS / "certificate" / f"{name}.der").read_bytes())


@dataclass(frozen=True)
class World:
    """A root, an issuing CA with a CRL and an OCSP responder, leaves, a TSA and a signer."""

    hierarchy: Hierarchy
    leaf: x509.Certificate
    """A tls-server certificate, good."""
    revoked: x509.Certificate
    """A tls-server certificate, revoked (keyCompromise) before :data:`AT`."""
    signer_key: ec.EllipticCurvePrivateKey
    signer: x509.Certificate
    """An org-seal certificate for CMS signatures."""
    tsa: TimestampAuthority
    responder: OCSPResponder
    crl: x509.CertificateRevocationList
    """The issuing CA's CRL at :data:`AT`, listing :attr:`revoked`."""
    root_crl: x509.CertificateRevocationList
    """The root's CRL, so hard-fail validation of the issuing CA can succeed."""

    @property
    def root(self) -> x509.Certificate:
        return self.hierarchy.root.certificate

    @property
    def issuing(self) -> x509.Certificate:
        return self.hierarchy.issuing.certificate

    @property
    def issuing_ca(self) -> CertificateAuthority:
        return self.hierarchy.issuing

    def ocsp_request(self, cert: x509.Certificate, *, nonce: bytes | None = None) -> bytes:
        """A DER OCSP request about ``cert`` (RFC 6960 4.1.1)."""
        builder = ocsp.OCSPRequestBuilder().add_certificate(cert, self.issuing, hashes.SHA256())
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        return builder.build().public_bytes(DER)


@cache
def world() -> World:
    """Build the world once per process, in a temporary directory removed at exit."""
    directory = Path(tempfile.mkdtemp(prefix="trustkit-fuzz-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    hierarchy = make_pki(
        directory,
        FixedClock(ISSUED_AT),
        root_key=fixed_key("root"),
        issuing_key=fixed_key("issuing"),
    )
    leaf = hierarchy.issue_sample("tls-server", key=fixed_key("leaf")).certificate
    revoked = hierarchy.issue_sample("tls-server", key=fixed_key("revoked")).issued
    hierarchy.issuing.revoke(
        revoked.serial, x509.ReasonFlags.key_compromise, at=ISSUED_AT + timedelta(days=1)
    )
    signer_key = fixed_key("signer")
    signer = hierarchy.issue_sample("org-seal", key=signer_key).certificate
    tsa_key = fixed_key("tsa")
    tsa_cert = hierarchy.issue_sample("timestamping", key=tsa_key).certificate
    tsa = TimestampAuthority(tsa_key, tsa_cert, hierarchy.chain)
    responder = OCSPResponder(
        [hierarchy.issuing], settings=ResponderSettings(signing=SigningMode.CA, cache_size=0)
    )
    crl = build_crl(hierarchy.issuing, at=AT - timedelta(hours=1)).crl
    root_crl = build_crl(hierarchy.root, at=AT - timedelta(hours=1)).crl
    return World(
        hierarchy=hierarchy,
        leaf=leaf,
        revoked=revoked.certificate,
        signer_key=signer_key,
        signer=signer,
        tsa=tsa,
        responder=responder,
        crl=crl,
        root_crl=root_crl,
    )
