"""Certificates per second with the CA key on SoftHSM2, beside the same with a software key.

Run with ``python -m benchmarks.bench_pkcs11 [--seconds S] [--threads N] [--quick] [--json]``.
It makes a SoftHSM2 token in a temporary directory, generates a CA key of
each type on it and the same type in software, and times a whole
certificate build and sign (``x509.CertificateBuilder.sign``) with each.
The ratio ``software / token`` is what the token costs: the Python
hashing, the PKCS#11 round trip and SoftHSM2's own signature.

Needs ``softhsm2-util`` and ``libsofthsm2.so`` (the Debian ``softhsm2``
package) and python-pkcs11.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from trustkit.keys import KeyType, PrivateKey, generate_key, signature_hash_for
from trustkit.pkcs11 import close_tokens, generate_key_on_token

MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
PIN = "bench-user-pin"
KEY_TYPES = (KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_2048, KeyType.RSA_3072)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _softhsm(base: Path) -> str:
    util = shutil.which("softhsm2-util")
    module = next((path for path in MODULES if Path(path).is_file()), None)
    if util is None or module is None:
        sys.exit("SoftHSM2 is not installed (softhsm2-util, libsofthsm2.so)")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [util, "--init-token", "--free", "--label", "bench", "--so-pin", "bench-so", "--pin", PIN],
        check=True,
        capture_output=True,
    )
    return module


def _issue(ca_key: PrivateKey, subject_key: ec.EllipticCurvePrivateKey) -> Callable[[], object]:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Benchmark CA")])
    leaf = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.gov")])
    public = subject_key.public_key()
    algorithm = signature_hash_for(ca_key)

    def issue_one() -> object:
        return (
            x509.CertificateBuilder()
            .subject_name(leaf)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(AT)
            .not_valid_after(AT + timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName("www.example.gov")]), critical=False
            )
            .sign(ca_key, algorithm)
        )

    return issue_one


def _rate(operation: Callable[[], object], seconds: float, threads: int) -> float:
    """Operations per second over about ``seconds`` of wall time."""
    operation()  # warm up: sessions opened, objects found
    done = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()

    def worker() -> int:
        count = 0
        while time.perf_counter() < deadline:
            operation()
            count += 1
        return count

    with ThreadPoolExecutor(max_workers=threads) as pool:
        done = sum(pool.map(lambda _: worker(), range(threads)))
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=1, help="threads signing at once")
    parser.add_argument("--quick", action="store_true", help="0.5 s per measurement")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON, last line")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 0.5
    rows: list[dict[str, object]] = []
    subject_key = ec.generate_private_key(ec.SECP256R1())
    with tempfile.TemporaryDirectory(prefix="trustkit-bench-") as tmp:
        module = _softhsm(Path(tmp))
        print(f"certificate build + sign, {args.threads} thread(s), {args.seconds:.1f} s each")
        print(f"{'CA key':<10} {'software/s':>11} {'SoftHSM2/s':>11} {'ratio':>7}")
        for key_type in KEY_TYPES:
            token_key = generate_key_on_token(
                f"pkcs11:token=bench;object=ca-{key_type.value}",
                key_type,
                pin=PIN,
                module=module,
            )
            software = _rate(
                _issue(generate_key(key_type), subject_key), args.seconds, args.threads
            )
            token = _rate(_issue(token_key, subject_key), args.seconds, args.threads)
            print(
                f"{key_type.value:<10} {software:>11.0f} {token:>11.0f} {software / token:>6.1f}x"
            )
            rows.append(
                {
                    "workload": f"HSM issue a certificate, {key_type.value} key on SoftHSM2",
                    "trustkit": round(token),
                    "limit": round(software),
                    "ratio": round(token / software, 2),
                    "unit": "certs/s",
                    "peers": {},
                }
            )
        close_tokens()
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
