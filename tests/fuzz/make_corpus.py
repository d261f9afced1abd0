"""Write the seed corpus of every fuzz target, made with trustkit itself.

    python tests/fuzz/make_corpus.py

Each ``tests/fuzz/corpus/<parser>/`` gets a few valid inputs (a few KB at
most) from the world in ``_world.py``: fixed keys, names and times, so the
signatures, requests and replies still fit the world a target rebuilds on
every run. Serial numbers and ECDSA signatures are random, so the bytes
change when this is run again; what they mean does not.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import PublicFormat
from cryptography.x509 import ocsp

from tests.fuzz._harness import CORPUS
from tests.fuzz._world import AT, CONTENT, DER, ISSUED_AT, TSA_DIGEST, TSA_NONCE, fixed_key, world
from trustkit._asn1 import encode_timestamp_request
from trustkit.clock import FixedClock
from trustkit.cms import Signer, sign
from trustkit.encoding import pem_encode
from trustkit.testing import SAMPLE_REQUESTS
from trustkit.tsa import LocalTimestamper

PKI_SPEC = Path(__file__).resolve().parents[2] / "trustkit" / "_data" / "demo-pki.toml"

SMALL_SPEC = b"""\
[pki]
base_url = "http://pki.example.gov"

[service]
port = 8443

[ca.root]
subject = "CN=Example Root,O=Example,C=EE"
key_type = "ec-p384"
days = 3650

[ca.issuing]
subject = "CN=Example Issuing,O=Example,C=EE"
parent = "root"
path_length = 0
permit = ["dns:example.gov", "email:example.gov"]
exclude = ["ip:10.0.0.0/8"]

[certificate.web]
ca = "issuing"
profile = "tls-server"
subject = "CN=www.example.gov"
sans = ["dns:www.example.gov", "ip:192.0.2.7"]
pkcs12 = true

[certificate.old]
ca = "issuing"
profile = "tls-client"
subject = "CN=old,O=Example,C=EE"
revoke = "key_compromise"
"""

CA_CONFIG = b"""\
[ca]
name = "citizen-ca"
key = "pkcs11:token=ca;object=citizen"
pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"
store = "postgresql+psycopg://pki@127.0.0.1/pki"

[urls]
base = "http://pki.example.gov"
ocsp = "http://ocsp.example.gov/"

[crl]
next_update_hours = 6.5
shards = 4
delta = true

[profiles.tls-server]
validity_days = 90

[service]
port = 8080
"""


def _pem(label: str, der: bytes) -> bytes:
    return pem_encode(label, der)


def corpus() -> dict[str, dict[str, bytes]]:
    """Every seed, by target and file name."""
    w = world()
    leaf, issuing, root = (c.public_bytes(DER) for c in (w.leaf, w.issuing, w.root))
    chain_pem = b"".join(_pem("CERTIFICATE", d) for d in (leaf, issuing, root))
    csr_key = fixed_key("csr")
    tls_csr = SAMPLE_REQUESTS["tls-server"].csr(csr_key).public_bytes(DER)
    person_csr = SAMPLE_REQUESTS["citizen-auth"].csr(csr_key).public_bytes(DER)
    crl, root_crl = w.crl.public_bytes(DER), w.root_crl.public_bytes(DER)
    good_request = w.ocsp_request(w.leaf, nonce=b"n" * 16)
    revoked_request = w.ocsp_request(w.revoked)
    sha1_request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(w.leaf, w.issuing, hashes.SHA1())
        .build()
        .public_bytes(DER)
    )
    signer = Signer(w.signer_key, w.signer, (w.issuing, w.root))
    stamped = sign(
        CONTENT, signer, at=ISSUED_AT, timestamper=LocalTimestamper(w.tsa, FixedClock(AT))
    )
    attached = sign(CONTENT, signer, at=ISSUED_AT, attached=True)
    tsa_request = encode_timestamp_request(
        hash_algorithm="sha256", hashed_message=TSA_DIGEST, nonce=TSA_NONCE, cert_req=True
    )
    sha512_request = encode_timestamp_request(
        hash_algorithm="sha512", hashed_message=bytes(64), nonce=None, cert_req=False
    )
    public_key = fixed_key("csr").public_key().public_bytes(DER, PublicFormat.SubjectPublicKeyInfo)
    good_response = w.responder.respond(good_request, at=AT)
    bundle = (
        b"A bundle with text around its blocks\r\n"
        + _pem("CERTIFICATE", leaf).replace(b"\n", b"\r\n")
        + b"-----BEGIN X509 CRL-----\nProc-Type: 4,ENCRYPTED\n\n"
        + _pem("X509 CRL", crl).split(b"\n", 1)[1]
        + _pem("NEW CERTIFICATE REQUEST", tls_csr)
    )
    return {
        "certificate": {
            "leaf.der": leaf,
            "revoked.der": w.revoked.public_bytes(DER),
            "issuing.der": issuing,
            "chain.pem": chain_pem,
        },
        "csr": {"tls-server.der": tls_csr, "citizen.pem": _pem("CERTIFICATE REQUEST", person_csr)},
        "crl": {"issuing.der": crl, "root.pem": _pem("X509 CRL", root_crl)},
        "ocsp_request": {
            "good-nonce.der": good_request,
            "revoked.der": revoked_request,
            "sha1.der": sha1_request,
        },
        "ocsp_response": {
            "good.der": good_response,
            "revoked.der": w.responder.respond(revoked_request, at=AT),
            "malformed.der": w.responder.respond(b"\x30\x00", at=AT),
        },
        "cms": {"detached-timestamped.der": stamped, "attached.pem": _pem("CMS", attached)},
        "tsa_request": {"sha256-nonce.der": tsa_request, "sha512.der": sha512_request},
        "tsa_reply": {
            "granted.der": w.tsa.respond(tsa_request, at=AT),
            "rejected.der": w.tsa.respond(sha512_request[:-3], at=AT),
        },
        "pem": {"bundle.pem": bundle, "chain.pem": chain_pem},
        "pki_spec": {"demo-pki.toml": PKI_SPEC.read_bytes(), "small.toml": SMALL_SPEC},
        "ca_config": {
            "issuing.toml": w.issuing_ca.config.to_toml(),
            "hsm-postgres.toml": CA_CONFIG,
        },
        "large": {
            # The first byte picks fuzz_large.amplify's shape; the rest is its unit.
            "bundle.bin": b"\x00" + _pem("CERTIFICATE", leaf),
            "stretched-cms.bin": b"\x01" + attached,
            "pem-body.bin": b"\x02" + b"MIIBCgKCAQEA" * 5 + b"\n",
            "der-sequence.bin": b"\x03" + leaf,
        },
        "inspect": {
            "objects.pem": chain_pem[: len(_pem("CERTIFICATE", leaf))]
            + _pem("CERTIFICATE REQUEST", tls_csr)
            + _pem("X509 CRL", crl)
            + _pem("PUBLIC KEY", public_key)
            + _pem("ENCRYPTED PRIVATE KEY", b"\x30\x00")
            + _pem("SOMETHING ELSE", b"\x04\x02hi"),
            "ocsp-response.der": good_response,
            "ocsp-request.der": good_request,
            "cms.der": stamped,
        },
    }


def write(root: Path = CORPUS) -> None:
    """Replace ``root``'s seed directories with fresh seeds."""
    for parser, files in corpus().items():
        directory = root / parser
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for name, data in files.items():
            (directory / name).write_bytes(data)


if __name__ == "__main__":
    write()
