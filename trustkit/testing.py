"""Public test helpers: a small PKI in one call, and the independent tools that check it.

A root, an issuing CA under it, and a certificate of any built-in profile::

    pki = make_pki(tmp_path, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    sample = pki.issue_sample("citizen-auth")
    write_pem(tmp_path / "chain.pem", sample.certificate, pki.issuing.certificate)
    assert openssl_verify(pki.root.certificate, [pki.issuing.certificate],
                          sample.certificate, at=...).ok

Everything is made through the public API with real keys, so what a test gets
is what a user would. The names are public-looking (``pki.example.gov``,
country ``EE``): conformance linters reject loopback hosts, ``.test`` domains
and country codes that are not ISO 3166. The key passphrase is a constant;
none of this is for production use.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ._files import write_atomic
from .ca import CertificateAuthority, IssuedCertificate
from .clock import Clock
from .csr import create_csr
from .encoding import pem_encode
from .keys import DEFAULT_CA_KEY_TYPE, DEFAULT_LEAF_KEY_TYPE, KeyType, PrivateKey, generate_key
from .names import parse_general_names, parse_name
from .profiles import BUILTIN_PROFILES

__all__ = [
    "ISSUING_SUBJECT",
    "LEAF_PROFILES",
    "ROOT_SUBJECT",
    "SAMPLE_REQUESTS",
    "TEST_BASE_URL",
    "TEST_PASSPHRASE",
    "Hierarchy",
    "Sample",
    "SampleRequest",
    "ToolResult",
    "certtool_verify",
    "make_pki",
    "openssl_verify",
    "write_pem",
]

TEST_PASSPHRASE = b"trustkit test passphrase"
"""The passphrase of every CA key :func:`make_pki` writes."""
TEST_BASE_URL = "http://pki.example.gov"
"""Base of the CRL, OCSP and caIssuers URLs in test certificates."""
ROOT_SUBJECT = "CN=Example Gov Root CA,O=Example Gov,C=EE"
ISSUING_SUBJECT = "CN=Example Gov Issuing CA,O=Example Gov,C=EE"


@dataclass(frozen=True)
class SampleRequest:
    """A subject and SANs, as text, that a profile's issuance rules accept."""

    subject: str
    """RFC 4514 distinguished name."""
    sans: tuple[str, ...] = ()
    """Subject alternative names in :func:`~trustkit.names.parse_general_name` form."""

    def csr(self, key: PrivateKey) -> x509.CertificateSigningRequest:
        """A CSR for this subject and these SANs, signed with ``key``."""
        return create_csr(key, parse_name(self.subject), parse_general_names(self.sans))


_PERSON = "CN=Mari Maasikas,givenName=Mari,surname=Maasikas,serialNumber=PNOEE-48010010000,C=EE"

SAMPLE_REQUESTS: Mapping[str, SampleRequest] = MappingProxyType(
    {
        "tls-server": SampleRequest("CN=www.example.gov", ("dns:www.example.gov",)),
        "tls-client": SampleRequest(
            "CN=records-client,O=Example Gov,C=EE", ("dns:records-client.example.gov",)
        ),
        # ETSI EN 319 412-1 5.1.3: PNO + ISO 3166 country + national identifier.
        "citizen-auth": SampleRequest(_PERSON, ("email:mari.maasikas@example.gov",)),
        "qualified-signature": SampleRequest(_PERSON),
        # ETSI EN 319 412-1 5.1.4: NTR + ISO 3166 country + national trade register number.
        "org-seal": SampleRequest(
            "CN=Example Agency e-Seal,O=Example Agency,organizationIdentifier=NTREE-10000001,C=EE"
        ),
        "code-signing": SampleRequest("CN=Example Agency Releases,O=Example Agency,C=EE"),
        "ocsp-signing": SampleRequest("CN=Example Gov OCSP Responder,O=Example Gov,C=EE"),
        "timestamping": SampleRequest("CN=Example Gov Time-Stamping Unit,O=Example Gov,C=EE"),
    }
)
"""One request per built-in end-entity profile that passes its subject and SAN rules."""

LEAF_PROFILES: tuple[str, ...] = tuple(name for name, p in BUILTIN_PROFILES.items() if not p.is_ca)
"""The built-in end-entity profile names, in definition order."""


@dataclass(frozen=True)
class Sample:
    """A certificate issued by :meth:`Hierarchy.issue_sample`, with its private key."""

    profile: str
    key: PrivateKey
    issued: IssuedCertificate

    @property
    def certificate(self) -> x509.Certificate:
        return self.issued.certificate


@dataclass(frozen=True)
class Hierarchy:
    """A root CA and one issuing CA under it, each in its own directory."""

    root: CertificateAuthority
    issuing: CertificateAuthority

    def issue_sample(
        self,
        profile: str,
        request: SampleRequest | None = None,
        *,
        key: PrivateKey | None = None,
        key_type: KeyType = DEFAULT_LEAF_KEY_TYPE,
        days: int | None = None,
        at: datetime | None = None,
    ) -> Sample:
        """Issue a certificate of ``profile`` from the issuing CA.

        ``request`` defaults to the profile's entry in :data:`SAMPLE_REQUESTS`;
        ``key`` to a new key of ``key_type``.
        """
        if request is None:
            request = SAMPLE_REQUESTS[profile]
        key = key if key is not None else generate_key(key_type)
        issued = self.issuing.issue(request.csr(key), profile, days=days, at=at)
        return Sample(profile, key, issued)

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The issuing CA's certificate, then the root's."""
        return (self.issuing.certificate, self.root.certificate)

    def close(self) -> None:
        """Release both stores."""
        self.issuing.close()
        self.root.close()

    def __enter__(self) -> Hierarchy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_pki(
    directory: str | Path,
    clock: Clock,
    *,
    root_subject: str = ROOT_SUBJECT,
    issuing_subject: str = ISSUING_SUBJECT,
    base_url: str = TEST_BASE_URL,
    key_type: KeyType = DEFAULT_CA_KEY_TYPE,
    root_key: PrivateKey | None = None,
    issuing_key: PrivateKey | None = None,
    path_length: int | None = 0,
    name_constraints: x509.NameConstraints | None = None,
) -> Hierarchy:
    """A root CA in ``directory/root`` and an issuing CA in ``directory/issuing``.

    Both are made at ``clock.now()`` and issue at that time. Keys are new ones
    of ``key_type`` (written encrypted with :data:`TEST_PASSPHRASE`) unless
    ``root_key`` or ``issuing_key`` are given, which are kept in memory only.
    ``path_length`` and ``name_constraints`` go into the issuing CA's certificate.
    """
    directory = Path(directory)
    root = CertificateAuthority.create_root(
        root_subject,
        directory / "root",
        passphrase=TEST_PASSPHRASE,
        key_type=key_type,
        key=root_key,
        base_url=base_url,
        clock=clock,
    )
    root = _signing_with(root, root_key)
    issuing = root.create_subordinate(
        issuing_subject,
        directory / "issuing",
        passphrase=TEST_PASSPHRASE,
        key_type=key_type,
        key=issuing_key,
        path_length=path_length,
        name_constraints=name_constraints,
    )
    return Hierarchy(root, _signing_with(issuing, issuing_key))


def _signing_with(ca: CertificateAuthority, key: PrivateKey | None) -> CertificateAuthority:
    """``ca``, made to sign with ``key`` when it was created from a key kept in memory.

    A CA created with ``key=`` does not write that key, and the object
    ``create_root`` / ``create_subordinate`` return would look for it on disk.
    """
    if key is None:
        return ca
    return CertificateAuthority(
        ca.directory, ca.config, ca.certificate, ca.chain, ca.store, key=key, clock=ca.clock
    )


def write_pem(path: str | Path, *certificates: x509.Certificate) -> Path:
    """Write ``certificates`` to ``path`` as one PEM bundle, in the order given."""
    data = b"".join(pem_encode("CERTIFICATE", c.public_bytes(Encoding.DER)) for c in certificates)
    return write_atomic(Path(path), data)


@dataclass(frozen=True)
class ToolResult:
    """What an external verifier said."""

    ok: bool
    """Whether it accepted the chain (exit status 0 and, for certtool, "Verified")."""
    output: str
    """Its standard output and standard error, for assertion messages."""


def _run(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


def openssl_verify(
    root: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    certificate: x509.Certificate,
    *,
    purpose: str | None = None,
    at: datetime | None = None,
) -> ToolResult:
    """``openssl verify -x509_strict`` of ``certificate`` up to the trust anchor ``root``.

    ``purpose`` is an OpenSSL purpose name (``sslserver``, ``smimesign``, ...);
    ``at`` checks validity at that time (``-attime``) instead of now.
    """
    with tempfile.TemporaryDirectory(prefix="trustkit-openssl-") as tmp:
        args = ["openssl", "verify", "-x509_strict", "-CAfile", str(write_pem(f"{tmp}/ca", root))]
        if intermediates:
            args += ["-untrusted", str(write_pem(f"{tmp}/untrusted", *intermediates))]
        if purpose is not None:
            args += ["-purpose", purpose]
        if at is not None:
            args += ["-attime", str(int(at.timestamp()))]
        args.append(str(write_pem(f"{tmp}/cert", certificate)))
        done = _run(args)
    return ToolResult(done.returncode == 0, done.stdout + done.stderr)


def certtool_verify(
    root: x509.Certificate,
    chain: Sequence[x509.Certificate],
    *,
    purpose: x509.ObjectIdentifier | None = None,
) -> ToolResult:
    """GnuTLS ``certtool --verify`` of ``chain`` (end entity first) against ``root``, now.

    ``purpose`` is an extended key usage OID (``--verify-purpose``). certtool
    has no option to verify at another time, so the chain must be valid now.
    """
    with tempfile.TemporaryDirectory(prefix="trustkit-certtool-") as tmp:
        args = [
            "certtool",
            "--verify",
            "--load-ca-certificate",
            str(write_pem(f"{tmp}/ca", root)),
            "--infile",
            str(write_pem(f"{tmp}/chain", *chain)),
        ]
        if purpose is not None:
            args.append(f"--verify-purpose={purpose.dotted_string}")
        done = _run(args)
    output = done.stdout + done.stderr
    # certtool 3.7 exits 1 on failure, and always prints its verdict.
    ok = done.returncode == 0 and "Chain verification output: Verified" in output
    return ToolResult(ok, output)
