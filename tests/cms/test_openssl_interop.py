"""CMS interop with real OpenSSL, both ways, each with a twin that must fail."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.cms import RSAPadding, Signer, sign
from trustkit.cms.verify import CheckName, Outcome, verify_cms
from trustkit.errors import InvalidSignatureError

from .conftest import SIGNED_AT, VERIFY_AT, Pki

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
]

CONTENT = b"%PDF-1.7 pretend contract\n" + bytes(range(256)) * 40

# OpenSSL 3.0 cannot make or check EdDSA CMS signatures with signed attributes
# ("eddsa_digest_signverify_init: invalid digest"); trustkit's own tests cover Ed25519.
CASES = [
    ("rsa-2048", RSAPadding.PKCS1V15),
    ("rsa-2048", RSAPadding.PSS),
    ("ec-p256", None),
    ("ec-p384", None),
]


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _pem(cert: object) -> bytes:
    return cert.public_bytes(Encoding.PEM)  # type: ignore[attr-defined,no-any-return]


def _openssl_verify(
    tmp: Path, sig: bytes, content: bytes | None, root: bytes
) -> subprocess.CompletedProcess[bytes]:
    args = [
        "openssl",
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-purpose",
        "any",
        "-in",
        str(_write(tmp, "sig.p7s", sig)),
        "-CAfile",
        str(_write(tmp, "root.pem", root)),
        "-out",
        str(tmp / "out.bin"),
    ]
    if content is not None:
        args += ["-content", str(_write(tmp, "content.bin", content))]
    return subprocess.run(args, capture_output=True, check=False)


@pytest.mark.parametrize(("key_type", "padding"), CASES, ids=lambda v: getattr(v, "value", v))
@pytest.mark.parametrize("attached", [False, True], ids=["detached", "attached"])
def test_openssl_verifies_trustkit(
    pki: Pki, tmp_path: Path, key_type: str, padding: RSAPadding | None, attached: bool
) -> None:
    key, cert = pki.signers[key_type]
    signer = Signer(key, cert, pki.chain, rsa_padding=padding or RSAPadding.PKCS1V15)
    der = sign(CONTENT, signer, at=SIGNED_AT, attached=attached)
    content = None if attached else CONTENT
    root = _pem(pki.root.certificate)
    ok = _openssl_verify(tmp_path, der, content, root)
    assert ok.returncode == 0, ok.stderr.decode()
    assert (tmp_path / "out.bin").read_bytes() == CONTENT
    # Twins: a tampered content byte, and the wrong root.
    if not attached:
        bad = _openssl_verify(tmp_path, der, b"Y" + CONTENT[1:], root)
        assert bad.returncode != 0
    wrong = _openssl_verify(tmp_path, der, content, _pem(pki.other_root.certificate))
    assert wrong.returncode != 0


def _openssl_sign(pki: Pki, tmp: Path, key_type: str, *extra: str, tool: str = "cms") -> bytes:
    key, cert = pki.signers[key_type]
    key_pem = key.private_bytes(
        Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    chain = b"".join(_pem(c) for c in pki.chain)
    out = tmp / "openssl.p7s"
    args = [
        "openssl",
        tool,
        "-sign",
        "-binary",
        "-in",
        str(_write(tmp, "content.bin", CONTENT)),
        "-signer",
        str(_write(tmp, "signer.pem", _pem(cert))),
        "-inkey",
        str(_write(tmp, "signer.key", key_pem)),
        "-certfile",
        str(_write(tmp, "chain.pem", chain)),
        "-outform",
        "DER",
        "-out",
        str(out),
        *extra,
    ]
    subprocess.run(args, capture_output=True, check=True)
    return out.read_bytes()


@pytest.mark.parametrize("key_type", ["rsa-2048", "ec-p256"])
def test_trustkit_verifies_openssl_cades(pki: Pki, tmp_path: Path, key_type: str) -> None:
    der = _openssl_sign(pki, tmp_path, key_type, "-cades", "-md", "sha256")
    (report,) = verify_cms(CONTENT, der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
    assert report.check(CheckName.SIGNING_CERTIFICATE).outcome is Outcome.PASSED
    with pytest.raises(InvalidSignatureError, match="message-digest"):
        verify_cms(b"Z" + CONTENT[1:], der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
    with pytest.raises(InvalidSignatureError, match="certificate-path"):
        verify_cms(CONTENT, der, trust_anchors=[pki.other_root.certificate], at=VERIFY_AT)


def test_trustkit_verifies_openssl_smime(pki: Pki, tmp_path: Path) -> None:
    der = _openssl_sign(pki, tmp_path, "rsa-2048", "-nodetach", "-md", "sha256", tool="smime")
    (report,) = verify_cms(None, der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
    assert report.valid
    # Without -cades there is no ESS attribute: reported absent, not failed.
    assert report.check(CheckName.SIGNING_CERTIFICATE).outcome is Outcome.ABSENT
    position = der.index(CONTENT[:40]) + 5
    tampered = der[:position] + b"!" + der[position + 1 :]
    with pytest.raises(InvalidSignatureError):
        verify_cms(None, tampered, trust_anchors=[pki.root.certificate], at=VERIFY_AT)


def test_trustkit_verifies_openssl_without_signed_attributes(pki: Pki, tmp_path: Path) -> None:
    der = _openssl_sign(pki, tmp_path, "ec-p256", "-noattr", "-md", "sha256")
    (report,) = verify_cms(CONTENT, der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
    assert report.valid
    with pytest.raises(InvalidSignatureError, match="signature"):
        verify_cms(CONTENT + b".", der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
