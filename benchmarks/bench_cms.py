"""W2/W3: CMS sign and verify of 1 MiB (and 100 MiB) beside the raw cryptography cost.

Reproduce with::

    python -m benchmarks.bench_cms                 # 1 MiB, 200 rounds; 100 MiB, 3 rounds
    python -m benchmarks.bench_cms --rounds 500 --skip-large

The limit for signing is SHA-256 of the content plus one ECDSA P-256
signature, in-process (issue 7, W2). For verifying it is SHA-256 of the
content plus one signature verification (W3); trustkit also validates the
signer's three-certificate path (two more signature checks and RFC 5280
processing), so its ratio includes that work. ``openssl cms -sign`` and
``-verify`` are timed as whole processes, as a user would run them. Peak
Python heap (tracemalloc) is reported for the large file, which is streamed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.cms import Signer, sign
from trustkit.cms.verify import verify_cms
from trustkit.csr import create_csr
from trustkit.keys import generate_key
from trustkit.names import parse_name

AT = datetime(2026, 1, 15, 12, tzinfo=UTC)
MIB = 1 << 20


def _rate(func: Callable[[], object], rounds: int, repeats: int = 5) -> float:
    """Operations per second: the median of ``repeats`` runs of ``rounds`` calls."""
    func()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(rounds):
            func()
        rates.append(rounds / (time.perf_counter() - start))
    return statistics.median(rates)


def _setup(base: Path) -> tuple[Signer, CertificateAuthority]:
    clock = FixedClock(AT)
    root = CertificateAuthority.create_root(
        "CN=Bench Root,O=Bench,C=EX", base / "root", passphrase=b"bench pass", clock=clock
    )
    issuing = root.create_subordinate(
        "CN=Bench Issuing,O=Bench,C=EX", base / "issuing", passphrase=b"bench pass"
    )
    key = generate_key("ec-p256")
    subject = parse_name("CN=Bench Seal,O=Bench Org,C=EX,2.5.4.97=VATEX-1")
    issued = issuing.issue(create_csr(key, subject), "org-seal", at=AT)
    return Signer(key, issued.certificate, issued.chain), root


def _openssl(args: list[str], rounds: int) -> float:
    return _rate(lambda: subprocess.run(args, check=True, capture_output=True), rounds, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--skip-large", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        signer, root = _setup(base)
        data = os.urandom(MIB)
        key = signer.key
        assert isinstance(key, ec.EllipticCurvePrivateKey)

        def raw_sign() -> bytes:
            digest = hashes.Hash(hashes.SHA256())
            digest.update(data)
            return key.sign(digest.finalize(), ec.ECDSA(hashes.SHA256()))

        signature = raw_sign()
        public = key.public_key()

        def raw_verify() -> None:
            digest = hashes.Hash(hashes.SHA256())
            digest.update(data)
            public.verify(signature, digest.finalize(), ec.ECDSA(hashes.SHA256()))

        der = sign(data, signer, at=AT)
        anchors = [root.certificate]
        rows = [
            (
                "W2 sign 1 MiB",
                _rate(raw_sign, options.rounds),
                _rate(lambda: sign(data, signer, at=AT), options.rounds),
            ),
            (
                "W3 verify 1 MiB + path",
                _rate(raw_verify, options.rounds),
                _rate(lambda: verify_cms(data, der, trust_anchors=anchors, at=AT), options.rounds),
            ),
        ]
        print(f"{'workload':26} {'limit/s':>10} {'trustkit/s':>11} {'ratio':>6}")
        for name, limit, ours in rows:
            print(f"{name:26} {limit:10.0f} {ours:11.0f} {ours / limit:6.2f}")
        if shutil.which("openssl"):
            content = base / "data.bin"
            content.write_bytes(data)
            (base / "signer.pem").write_bytes(signer.certificate.public_bytes(Encoding.PEM))
            (base / "signer.key").write_bytes(
                key.private_bytes(
                    Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            (base / "root.pem").write_bytes(root.certificate.public_bytes(Encoding.PEM))
            (base / "chain.pem").write_bytes(
                b"".join(c.public_bytes(Encoding.PEM) for c in signer.chain)
            )
            (base / "sig.p7s").write_bytes(der)
            sign_args = [
                "openssl",
                "cms",
                "-sign",
                "-binary",
                "-in",
                str(content),
                "-signer",
                str(base / "signer.pem"),
                "-inkey",
                str(base / "signer.key"),
                "-certfile",
                str(base / "chain.pem"),
                "-outform",
                "DER",
                "-out",
                str(base / "o.p7s"),
            ]
            verify_args = [
                "openssl",
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                str(base / "sig.p7s"),
                "-content",
                str(content),
                "-CAfile",
                str(base / "root.pem"),
                "-purpose",
                "any",
                "-out",
                os.devnull,
            ]
            rounds = max(5, options.rounds // 20)
            print(f"openssl cms -sign   (process) {_openssl(sign_args, rounds):8.0f}/s")
            print(f"openssl cms -verify (process) {_openssl(verify_args, rounds):8.0f}/s")
        if not options.skip_large:
            large = base / "large.bin"
            with large.open("wb") as handle:
                for _ in range(100):
                    handle.write(os.urandom(MIB))
            tracemalloc.start()
            start = time.perf_counter()
            with large.open("rb") as stream:
                big = sign(stream, signer, at=AT)
            signed = time.perf_counter() - start
            start = time.perf_counter()
            with large.open("rb") as stream:
                verify_cms(stream, big, trust_anchors=anchors, at=AT)
            verified = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"100 MiB: sign {signed:.2f} s, verify {verified:.2f} s, "
                f"peak Python heap {peak / MIB:.1f} MiB (tracemalloc slows both)"
            )
        root.close()


if __name__ == "__main__":
    main()
