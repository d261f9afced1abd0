"""A citizen signs an application form; the e-service verifies who signed it, and when.

``sign`` makes a detached CMS signature (CAdES baseline B-T) of the form with
the citizen's qualified-signature certificate, and asks the national
time-stamping authority (RFC 3161, over HTTP) to timestamp the signature
value, so the signature can be checked long after it was made.

``verify`` is the e-service's side, with :func:`trustkit.cms.verify.verify_cms`:
the form must match the signature, the signer's certificate must chain to the
national root, be fit for document signing and not be revoked (hard-fail:
CRLs are given), and the timestamp must be valid; the signer's path is
validated at the timestamp's time. On top of that this service accepts only a
qualified signature of a natural person (certificate policy QCP-n-qscd, ETSI
EN 319 411-2). It then shows the signer's name and semantics identifier
(serialNumber, ETSI EN 319 412-1) and the time of the timestamp.

Try it on the demo PKI (``trustkit demo`` writes its passphrase to
demo-pki/passphrase.txt, its CRLs to demo-pki/public/crl/)::

    trustkit demo
    trustkit serve --ca demo-pki --tsa demo-pki/tsa --passphrase-file demo-pki/passphrase.txt &
    python examples/sign_and_verify_form/app.py sign form.txt \\
        --cert demo-pki/certs/alice-signature-chain.pem \\
        --key demo-pki/certs/alice-signature.key --passphrase-file demo-pki/passphrase.txt \\
        --tsa http://127.0.0.1:8080/tsa -o form.txt.p7s
    python examples/sign_and_verify_form/app.py verify form.txt --signature form.txt.p7s \\
        --trust demo-pki/root/ca.pem \\
        --crl demo-pki/public/crl/root.crl --crl demo-pki/public/crl/citizen-ca.crl \\
        --crl demo-pki/public/crl/eservices-ca.crl

The demo's TSA is certified by the e-Services CA, hence its CRL too.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from trustkit.cms.sign import Signer, sign
from trustkit.cms.verify import SignerReport, verify_cms
from trustkit.encoding import load_certificates, load_crl
from trustkit.errors import InvalidSignatureError, TrustkitError
from trustkit.keys import load_private_key_file
from trustkit.tsa import HttpTimestamper
from trustkit.validation import RevocationMode, ValidationPolicy

QUALIFIED_NATURAL_PERSON = x509.ObjectIdentifier("0.4.0.194112.1.2")
"""QCP-n-qscd (ETSI EN 319 411-2 5.3): qualified certificate, natural person, key in a QSCD."""

FORM_POLICY = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)
"""Every certificate of the signer's and the TSA's paths needs revocation evidence."""


class NotQualifiedError(TrustkitError):
    """The signature verifies, but is not a qualified signature of a natural person."""


def _passphrase(path: Path | None) -> bytes | None:
    if path is not None:
        return path.read_bytes().rstrip(b"\r\n")
    if "TRUSTKIT_PASSPHRASE" in os.environ:
        return os.environ["TRUSTKIT_PASSPHRASE"].encode()
    return getpass.getpass("Passphrase for the signing key: ").encode() or None


def sign_form(
    form: bytes,
    chain: Sequence[x509.Certificate],
    key_path: Path,
    passphrase: bytes | None,
    tsa: str,
) -> bytes:
    """A detached, timestamped CMS signature of ``form`` (DER)."""
    signer = Signer(load_private_key_file(key_path, passphrase), chain[0], tuple(chain[1:]))
    return sign(form, signer, at=datetime.now(UTC), timestamper=HttpTimestamper(tsa))


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else "-"


def verify_form(
    form: bytes,
    signature: bytes,
    trust_anchors: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> SignerReport:
    """The report on the form's one signer, who must hold a qualified certificate."""
    reports = verify_cms(
        form, signature, trust_anchors=trust_anchors, crls=crls, policy=FORM_POLICY
    )
    if len(reports) != 1:
        raise InvalidSignatureError(f"expected one signer, found {len(reports)}", reports=reports)
    report = reports[0]
    certificate = report.path[0]
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
        qualified = any(p.policy_identifier == QUALIFIED_NATURAL_PERSON for p in policies.value)
    except x509.ExtensionNotFound:
        qualified = False
    if not qualified:
        raise NotQualifiedError(
            f"signer {report.subject}: certificate policies lack QCP-n-qscd "
            f"({QUALIFIED_NATURAL_PERSON.dotted_string}); a qualified signature is required"
        )
    return report


def describe(report: SignerReport) -> str:
    """What the clerk sees: who signed, with which identifier, and when (timestamp)."""
    subject = report.path[0].subject
    name = f"{_attribute(subject, NameOID.GIVEN_NAME)} {_attribute(subject, NameOID.SURNAME)}"
    stamp = report.timestamp
    when = stamp.time.isoformat() if stamp is not None and stamp.time is not None else "none"
    return "\n".join(
        [
            "Signature valid.",
            f"Signed by:  {name}",
            f"Identifier: {_attribute(subject, NameOID.SERIAL_NUMBER)}",
            f"Issuer:     {report.path[0].issuer.rfc4514_string()}",
            f"Timestamp:  {when} ({stamp.tsa if stamp is not None else 'no TSA'})",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    signing = commands.add_parser("sign", help="sign a form as the citizen")
    signing.add_argument("form", type=Path)
    signing.add_argument("--cert", type=Path, required=True, help="certificate and chain, PEM")
    signing.add_argument("--key", type=Path, required=True, help="the certificate's key")
    signing.add_argument("--passphrase-file", type=Path, help="the key's passphrase")
    signing.add_argument("--tsa", required=True, help="RFC 3161 TSA URL")
    signing.add_argument("-o", "--output", type=Path, required=True)
    checking = commands.add_parser("verify", help="verify a signed form as the e-service")
    checking.add_argument("form", type=Path)
    checking.add_argument("--signature", type=Path, required=True)
    checking.add_argument("--trust", type=Path, required=True, help="national root CA, PEM")
    checking.add_argument("--crl", type=Path, action="append", default=[], help="repeatable")
    args = parser.parse_args(argv)

    if args.command == "sign":
        chain = load_certificates(args.cert.read_bytes())
        signature = sign_form(
            args.form.read_bytes(), chain, args.key, _passphrase(args.passphrase_file), args.tsa
        )
        args.output.write_bytes(signature)
        print(f"signed {args.form} -> {args.output}")
        return
    try:
        report = verify_form(
            args.form.read_bytes(),
            args.signature.read_bytes(),
            load_certificates(args.trust.read_bytes()),
            [load_crl(path.read_bytes(), what=str(path)) for path in args.crl],
        )
    except InvalidSignatureError as error:
        sys.exit(f"Signature NOT valid: {'; '.join(error.failures) or error}")
    except NotQualifiedError as error:
        sys.exit(f"Signature NOT accepted: {error}")
    print(describe(report))


if __name__ == "__main__":
    try:
        main()
    except (TrustkitError, OSError) as error:
        sys.exit(f"sign_and_verify_form: {error}")
