"""W2/W3: CMS sign and verify of 1 MiB (and 100 MiB) beside the raw cryptography cost.

Reproduce with::

    python -m benchmarks.bench_cms                 # 1 MiB: 7 rounds of 100 calls; 100 MiB once
    python -m benchmarks.bench_cms --quick         # 3 rounds of 30 calls, no 100 MiB

The limit for signing is SHA-256 of the content plus one ECDSA P-256
signature, in-process (issue 7, W2). For verifying it is SHA-256 of the
content plus one signature verification (W3); trustkit also validates the
signer's three-certificate path (two more signature checks and RFC 5280
processing), so its ratio includes that work. ``openssl cms -sign`` and
``-verify`` are timed as whole processes, as a user would run them. Peak
Python heap (tracemalloc) is reported for the large file, which is streamed.

A Signer encodes what every signature repeats once; a verifier keeps parsed
certificates, signature checks and validation results (for the time window in
which they cannot change) in bounded caches. The "W3 verify 1 MiB + path" row
verifies one signature again and again, as the limit does; "new signatures"
verifies signatures by the same signer that were never seen before, so the
signature is decoded afresh each time.
"""

from __future__ import annotations

import argparse
import json
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


def _interleaved(workloads: dict[str, Callable[[int], int]], rounds: int) -> dict[str, float]:
    """Operations per second of each workload: the median over ``rounds`` rounds.

    ``run(number)`` does round ``number``'s work and returns how many operations it
    made; round 0 warms up. Every round runs each workload once, one after the other,
    so load from elsewhere on the machine weighs on all of them alike and the ratios
    hold even when the absolute figures move.
    """
    for run in workloads.values():
        run(0)
    rates: dict[str, list[float]] = {name: [] for name in workloads}
    for number in range(1, rounds + 1):
        for name, run in workloads.items():
            start = time.perf_counter()
            count = run(number)
            rates[name].append(count / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def _repeat(func: Callable[[], object], count: int) -> Callable[[int], int]:
    def run(number: int) -> int:
        del number
        for _ in range(count):
            func()
        return count

    return run


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


def _openssl(args: list[str], count: int) -> Callable[[int], int]:
    return _repeat(lambda: subprocess.run(args, check=True, capture_output=True), count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per round and workload")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--quick", action="store_true", help="30 calls, 3 rounds, no 100 MiB")
    parser.add_argument("--json", action="store_true", help="end with the rows as JSON")
    options = parser.parse_args()
    if options.quick:
        options.calls, options.rounds, options.skip_large = 30, 3, True
    calls = options.calls
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
        # Distinct signatures by the same signer, none verified before: each round
        # reads its own, so the decoded-signature cache never answers.
        fresh = [sign(data, signer, at=AT) for _ in range(calls * (options.rounds + 1))]

        def verify_fresh(number: int) -> int:
            for item in fresh[number * calls : (number + 1) * calls]:
                verify_cms(data, item, trust_anchors=anchors, at=AT)
            return calls

        workloads: dict[str, Callable[[int], int]] = {
            "sign limit": _repeat(raw_sign, calls),
            "verify limit": _repeat(raw_verify, calls),
            "W2 sign 1 MiB": _repeat(lambda: sign(data, signer, at=AT), calls),
            "W3 verify 1 MiB + path": _repeat(
                lambda: verify_cms(data, der, trust_anchors=anchors, at=AT), calls
            ),
            "W3 verify, new signatures": verify_fresh,
        }
        peer_of = {
            "W2 sign 1 MiB": "openssl cms -sign",
            "W3 verify 1 MiB + path": "openssl cms -verify",
            "W3 verify, new signatures": "openssl cms -verify",
        }
        limit_of = {
            "W2 sign 1 MiB": "sign limit",
            "W3 verify 1 MiB + path": "verify limit",
            "W3 verify, new signatures": "verify limit",
        }
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
            processes = max(3, calls // 10)
            workloads["openssl cms -sign"] = _openssl(sign_args, processes)
            workloads["openssl cms -verify"] = _openssl(verify_args, processes)
        rates = _interleaved(workloads, options.rounds)
        header = (
            f"{'workload':28} {'trustkit/s':>10} {'limit/s':>8} {'ratio':>6}  peer (per process)"
        )
        print(header)
        print("-" * len(header))
        rows: list[dict[str, object]] = []
        for name, limit_name in limit_of.items():
            rate, limit = rates[name], rates[limit_name]
            peer = peer_of[name]
            peer_text = f"{peer} {rates[peer]:.0f}/s" if peer in rates else ""
            print(f"{name:28} {rate:10.0f} {limit:8.0f} {rate / limit:6.2f}  {peer_text}")
            rows.append(
                {
                    "workload": name,
                    "trustkit": round(rate),
                    "limit": round(limit),
                    "ratio": round(rate / limit, 2),
                    "unit": "/s",
                    "peers": {f"{peer} (per process)": round(rates[peer])} if peer in rates else {},
                }
            )
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
            rows.append(
                {
                    "workload": "(W2/W3) 100 MiB: sign + verify, peak Python heap "
                    f"{peak / MIB:.1f} MiB",
                    "trustkit": round(signed + verified, 2),
                    "limit": None,
                    "ratio": None,
                    "unit": "s",
                    "peers": {},
                }
            )
        root.close()
    if options.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
