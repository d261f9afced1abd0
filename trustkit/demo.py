"""The demo national PKI of the fictional Republic of Example, end to end.

:func:`run_demo` applies the shipped spec (``trustkit/_data/demo-pki.toml``,
linked as ``examples/demo-pki.toml``) and then does what an operator does on
day one: a delegated OCSP responder certificate for the Citizen CA, a
time-stamping authority, CRLs for every CA published where the certificates
point, and a sample application form signed by a citizen with a timestamp and
verified. Running it again in the same directory keeps every key,
certificate, PKCS#12 file and PKCS#12 passphrase, and publishes fresh CRLs; a
PKCS#12 file (or its passphrase file) that was removed is made again from the
kept key and certificate, with a new passphrase, and the result says so.
"""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ._files import PRIVATE_MODE, write_atomic
from .bundles import export_pkcs12
from .ca import CertificateAuthority
from .clock import Clock, SystemClock
from .cms.sign import Signer, sign
from .cms.verify import SignerReport, verify_cms
from .encoding import load_certificate, load_certificates
from .keys import load_private_key_file
from .pki import ApplyReport, apply, parse_spec
from .revocation.crl import build_crl
from .revocation.ocsp import delegated_signer
from .tsa import LocalTimestamper, TimestampAuthority

__all__ = ["DemoResult", "demo_spec_text", "run_demo"]

PASSPHRASE_FILE = "passphrase.txt"
TSA_DIR = "tsa"
PUBLIC_DIR = "public"
DOCUMENTS_DIR = "documents"
FORM_NAME = "application-form.txt"
TSA_SUBJECT = "CN=Republic of Example Time-Stamping Authority,O=Republic of Example,C=EX"
TSA_ISSUER = "eservices-ca"
SIGNER = "alice-signature"
REVOKED = "carol"

FORM_TEXT = """\
Republic of Example - Application for a residence certificate

Applicant:        Alice Example
Personal number:  19800101-1234
Address:          1 Example Street, Example City
Purpose:          proof of residence for a bank account

I confirm that the information above is correct.
"""


def demo_spec_text() -> str:
    """The TOML spec of the demo PKI."""
    return resources.files("trustkit").joinpath("_data/demo-pki.toml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class DemoResult:
    """What the demo built and checked."""

    out: Path
    applied: ApplyReport
    passphrase_file: Path
    crl_files: dict[str, Path]
    document: Path
    signature: Path
    signers: tuple[SignerReport, ...]
    p12_passphrases: dict[str, str]
    """Each PKCS#12 file's passphrase, by certificate name."""
    p12_remade: tuple[str, ...] = ()
    """PKCS#12 files made again on this run (a file was missing), with a new passphrase."""
    tsa_created: bool = True
    """Whether the TSA was created on this run (``False``: the existing one was kept)."""


def _passphrase(out: Path, given: bytes | None) -> tuple[bytes, Path]:
    path = out / PASSPHRASE_FILE
    if given:
        return given, path
    if path.exists():
        return path.read_bytes().strip(), path
    secret = secrets.token_urlsafe(18).encode()
    write_atomic(path, secret + b"\n", mode=PRIVATE_MODE)
    return secret, path


def run_demo(
    out: str | Path, *, passphrase: bytes | None = None, clock: Clock | None = None
) -> DemoResult:
    """Build (or refresh) the demo PKI in ``out``.

    Keys are encrypted with ``passphrase``, or with a random one kept in
    ``out/passphrase.txt`` (mode 0600) when none is given.
    """
    clock = clock or SystemClock()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    secret, passphrase_path = _passphrase(out, passphrase)
    spec = parse_spec(tomllib.loads(demo_spec_text()))
    report = apply(spec, out, passphrase=secret, clock=clock)
    now = clock.now()
    remade = _restore_pkcs12(out / "certs", [c.name for c in spec.certificates if c.pkcs12], secret)

    cas = {
        name: CertificateAuthority.open(directory, passphrase=secret, clock=clock)
        for name, directory in report.ca_dirs.items()
    }
    try:
        delegated_signer(cas["citizen-ca"], at=now, passphrase=secret)
        tsa_dir = out / TSA_DIR
        tsa_created = not (tsa_dir / "tsa.toml").exists()
        if not tsa_created:
            tsa = TimestampAuthority.open(tsa_dir, passphrase=secret)
        else:
            tsa = TimestampAuthority.create(
                cas[TSA_ISSUER], tsa_dir, subject=TSA_SUBJECT, passphrase=secret, at=now
            )
        crl_files = _publish(cas, out / PUBLIC_DIR, now)
        document, signature, signers = _sign_form(out, cas, tsa, secret, clock, now, crl_files)
        tsa.close()
    finally:
        for ca in cas.values():
            ca.close()
    p12 = {
        path.name.removesuffix(".p12.pass"): path.read_text().strip()
        for path in sorted((out / "certs").glob("*.p12.pass"))
    }
    return DemoResult(
        out=out,
        applied=report,
        passphrase_file=passphrase_path,
        crl_files=crl_files,
        document=document,
        signature=signature,
        signers=tuple(signers),
        p12_passphrases=p12,
        p12_remade=remade,
        tsa_created=tsa_created,
    )


def _restore_pkcs12(certs: Path, names: list[str], secret: bytes) -> tuple[str, ...]:
    """Make again, from the kept key and certificate, each PKCS#12 file whose file or
    passphrase file is gone; the others, and their passphrases, are left as they are."""
    remade = []
    for name in names:
        p12, p12_pass = certs / f"{name}.p12", certs / f"{name}.p12.pass"
        if p12.exists() and p12_pass.exists():
            continue
        chain = load_certificates((certs / f"{name}-chain.pem").read_bytes())
        key = load_private_key_file(certs / f"{name}.key", secret)
        p12_secret = secrets.token_urlsafe(12)
        write_atomic(p12_pass, p12_secret.encode() + b"\n", mode=PRIVATE_MODE)
        write_atomic(
            p12,
            export_pkcs12(chain[0], key, chain[1:], p12_secret.encode(), friendly_name=name),
            mode=PRIVATE_MODE,
        )
        remade.append(name)
    return tuple(remade)


def _publish(cas: dict[str, CertificateAuthority], public: Path, now: datetime) -> dict[str, Path]:
    """CRLs and CA certificates laid out as the URLs in the certificates name them."""
    (public / "crl").mkdir(parents=True, exist_ok=True)
    (public / "ca").mkdir(parents=True, exist_ok=True)
    files = {}
    for name, ca in cas.items():
        crl = build_crl(ca, at=now)
        path = public / "crl" / f"{ca.config.name}.crl"
        write_atomic(path, crl.der)
        write_atomic(
            public / "ca" / f"{ca.config.name}.crt", ca.certificate.public_bytes(Encoding.DER)
        )
        files[name] = path
    return files


def _sign_form(
    out: Path,
    cas: dict[str, CertificateAuthority],
    tsa: TimestampAuthority,
    secret: bytes,
    clock: Clock,
    now: datetime,
    crl_files: dict[str, Path],
) -> tuple[Path, Path, list[SignerReport]]:
    documents = out / DOCUMENTS_DIR
    documents.mkdir(exist_ok=True)
    form = documents / FORM_NAME
    if not form.exists():
        write_atomic(form, FORM_TEXT.encode())
    certs = out / "certs"
    chain = load_certificates((certs / f"{SIGNER}-chain.pem").read_bytes())
    signer = Signer(
        key=load_private_key_file(certs / f"{SIGNER}.key", secret),
        certificate=chain[0],
        chain=tuple(chain[1:]),
    )
    content = form.read_bytes()
    signature = sign(content, signer, at=now, timestamper=LocalTimestamper(tsa, clock))
    signature_path = documents / f"{FORM_NAME}.p7s"
    write_atomic(signature_path, signature)
    root = load_certificate((out / "root" / "ca.pem").read_bytes())
    reports = verify_cms(
        content,
        signature,
        trust_anchors=[root],
        intermediates=[tsa.certificate, *tsa.chain],
        at=now,
        crls=[x509.load_der_x509_crl(p.read_bytes()) for p in crl_files.values()],
    )
    return form, signature_path, reports
