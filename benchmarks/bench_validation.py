"""W6: validate a three-certificate chain for TLS, beside cryptography's verifier and OpenSSL.

Reproduce with::

    python -m benchmarks.bench_validation            # 400 distinct leaves, 5 rounds
    python -m benchmarks.bench_validation --quick    # 100 leaves, 3 rounds

A P-256 root, an issuing CA and ``--leaves`` distinct TLS server certificates
are made in-process for every round: each round validates leaves this
process has never seen, so a leaf's signature, extensions and result are
computed afresh (only what concerns the two CAs, the same for all, comes
from the caches), as ``openssl verify`` does when given many leaves in one
process. The limit is cryptography's ``x509.verification`` server
verifier, which checks no revocation. With CRLs, both CAs publish one (the
issuing CA's lists ``--revoked`` other serials) and revocation is hard-fail:
every certificate must be found on a CRL, as ``openssl verify -crl_check_all``
requires. The last row repeats one leaf: a server checking the same client
certificate again, which the result cache answers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from trustkit.validation import Purpose, RevocationMode, ValidationPolicy, validate

AT = datetime(2026, 1, 15, 12, tzinfo=UTC)
NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2027, 1, 1, tzinfo=UTC)
HOST = "www.example.gov"
CRL_URL = "http://crl.example.gov/issuing.crl"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "EX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ku(**bits: bool) -> x509.KeyUsage:
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{n: bits.get(n, False) for n in names})


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    serial: int,
    *,
    ca: bool,
) -> x509.Certificate:
    issuer_name = issuer[0].subject if issuer else _name(subject)
    signer = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca, None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), False
        )
    if ca:
        builder = builder.add_extension(_ku(key_cert_sign=True, crl_sign=True), critical=True)
    else:
        builder = (
            builder.add_extension(_ku(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), False)
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(CRL_URL)], None, None, None
                        )
                    ]
                ),
                False,
            )
        )
    return builder.sign(signer, hashes.SHA256())


def _crl(
    issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey, revoked: Sequence[int]
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(NOT_BEFORE)
        .next_update(NOT_BEFORE + timedelta(days=60))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
    )
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOT_BEFORE + timedelta(days=1))
            .build()
        )
    return builder.sign(key, hashes.SHA256())


def _interleaved(workloads: dict[str, Callable[[int], int]], rounds: int) -> dict[str, float]:
    """Operations per second of each workload: the median over ``rounds`` rounds.

    ``run(number)`` does round ``number``'s work and returns how many operations
    it made. Round 0 warms up. Each round runs every workload once, one after the
    other, so that load from elsewhere on the machine weighs on all of them alike
    and the ratios hold even when the absolute figures move.
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


def _openssl(args: list[str], count: int) -> Callable[[int], int]:
    def run(number: int) -> int:
        del number
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.stdout.count(": OK") != count:
            raise SystemExit(f"openssl verify did not accept every leaf: {done.stderr[:500]}")
        return count

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--revoked", type=int, default=1000, help="entries on the issuing CRL")
    parser.add_argument("--quick", action="store_true", help="100 leaves, 3 rounds")
    parser.add_argument("--json", action="store_true", help="end with the rows as JSON")
    options = parser.parse_args()
    if options.quick:
        options.leaves, options.rounds = 100, 3

    root_key, inter_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root = _cert("Bench Root", root_key, None, 1, ca=True)
    inter = _cert("Bench Issuing", inter_key, (root, root_key), 2, ca=True)
    # One set of fresh leaves per round and per trustkit workload, plus the warm-ups.
    batches = [
        [
            _cert(
                f"leaf {b}.{i}",
                ec.generate_private_key(ec.SECP256R1()),
                (inter, inter_key),
                1000 + b * options.leaves + i,
                ca=False,
            )
            for i in range(options.leaves)
        ]
        for b in range(2 * (options.rounds + 1))
    ]
    leaves = batches[0]
    revoked = range(10**6, 10**6 + options.revoked)  # other serials: every leaf stays good
    crls = [_crl(root, root_key, []), _crl(inter, inter_key, revoked)]
    anchors, pool = [root], [inter]
    hard = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)

    verifier = (
        PolicyBuilder().store(Store([root])).time(AT).build_server_verifier(x509.DNSName(HOST))
    )

    def limit(number: int) -> int:
        for leaf in batches[number]:
            verifier.verify(leaf, pool)
        return len(leaves)

    def ours(first_batch: int, **kwargs: object) -> Callable[[int], int]:
        def run(number: int) -> int:
            for leaf in batches[first_batch + number]:
                validate(
                    leaf,
                    trust_anchors=anchors,
                    intermediates=pool,
                    at=AT,
                    purpose=Purpose.TLS_SERVER,
                    hostname=HOST,
                    **kwargs,  # type: ignore[arg-type]
                )
            return len(leaves)

        return run

    def repeated(number: int) -> int:
        for _ in leaves:
            validate(
                leaves[0],
                trust_anchors=anchors,
                intermediates=pool,
                at=AT,
                purpose=Purpose.TLS_SERVER,
                hostname=HOST,
                crls=crls,
                policy=hard,
            )
        return len(leaves)

    workloads: dict[str, Callable[[int], int]] = {
        "limit": limit,
        "W6 TLS chain, no revocation": ours(0),
        "W6 TLS chain, CRLs hard-fail": ours(options.rounds + 1, crls=crls, policy=hard),
        "W6 one leaf again, CRLs": repeated,
    }
    peer_of = {
        "W6 TLS chain, no revocation": "openssl verify",
        "W6 TLS chain, CRLs hard-fail": "openssl verify -crl_check_all",
    }
    with tempfile.TemporaryDirectory() as tmp:
        if shutil.which("openssl"):
            base = Path(tmp)
            (base / "root.pem").write_bytes(root.public_bytes(Encoding.PEM))
            (base / "inter.pem").write_bytes(inter.public_bytes(Encoding.PEM))
            (base / "crls.pem").write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in crls))
            files = []
            for i, leaf in enumerate(leaves):
                path = base / f"leaf{i}.pem"
                path.write_bytes(leaf.public_bytes(Encoding.PEM))
                files.append(str(path))
            common = [
                "openssl",
                "verify",
                "-CAfile",
                str(base / "root.pem"),
                "-untrusted",
                str(base / "inter.pem"),
                "-purpose",
                "sslserver",
                "-verify_hostname",
                HOST,
                "-attime",
                str(int(AT.timestamp())),
            ]
            workloads["openssl verify"] = _openssl([*common, *files], len(files))
            workloads["openssl verify -crl_check_all"] = _openssl(
                [*common, "-crl_check_all", "-CRLfile", str(base / "crls.pem"), *files],
                len(files),
            )
        rates = _interleaved(workloads, options.rounds)
    limit_rate = rates["limit"]
    print(f"{len(leaves)} distinct leaves, {options.revoked} entries on the issuing CA's CRL")
    header = f"{'workload':32} {'trustkit/s':>10} {'limit/s':>8} {'ratio':>6}  peer"
    print(header)
    print("-" * (len(header) + 30))
    for name, peer in [(n, peer_of.get(n, "")) for n in workloads if n.startswith("W6")]:
        rate = rates[name]
        peer_text = (
            f"{peer} {rates[peer]:.0f}/s (x{rate / rates[peer]:.2f})" if peer in rates else ""
        )
        print(f"{name:32} {rate:10.0f} {limit_rate:8.0f} {rate / limit_rate:6.2f}  {peer_text}")
    if options.json:
        rows = [
            {
                "workload": name,
                "trustkit": round(rates[name]),
                "limit": round(limit_rate),
                "ratio": round(rates[name] / limit_rate, 2),
                "unit": "/s",
                "peers": {peer: round(rates[peer])} if peer in rates else {},
            }
            for name, peer in [(n, peer_of.get(n, "")) for n in workloads if n.startswith("W6")]
        ]
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
