"""W9: peak memory reading 1, 16 and 64 MiB of PEM and DER input, beside the input itself.

Reproduce with::

    python -m benchmarks.bench_input            # 1, 16 and 64 MiB
    python -m benchmarks.bench_input --json --quick   # 1 and 16 MiB

Each reading runs in a fresh Python process that imports trustkit, notes its
peak resident set (``ru_maxrss``), reads the file and does the work, then notes
the peak again: the difference is what reading that input cost, the file's own
bytes included. Inputs: a PEM bundle of certificates (``load_certificates``,
the CLI's ``--trust`` and ``--untrusted``) and an attached CMS signature over
as much content, in DER and in PEM (``verify_cms``: the upload an e-service
verifies). The limit is the size of the input, what holding it costs; the
ratio is that over trustkit's peak, so 0.33 means three bytes of memory per
byte read. Peers: cryptography's own PEM bundle reader
(``load_pem_x509_certificates``), and ``openssl cms -verify`` on the same
signature (its whole process's peak, measured with ``wait4``). Before the
linear PEM scanner, the regular expression took about 160 bytes per input byte
(1 MiB of PEM: 240 MB; 16 MiB would be 4 GB), measured here at 1 MiB only
(``--no-before`` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.cms import Signer, sign
from trustkit.csr import create_csr
from trustkit.encoding import pem_encode
from trustkit.keys import generate_key
from trustkit.names import parse_name

AT = datetime(2026, 1, 15, 12, tzinfo=UTC)
MIB = 1 << 20
ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, resource, sys
from pathlib import Path
def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)
def peak():
    return status("VmHWM")
kind, path, anchor = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
from cryptography import x509
from trustkit.encoding import load_certificates
from trustkit.cms.verify import verify_cms
root = load_certificates(Path(anchor).read_bytes())
# Start the high-water mark afresh (Linux 4.0, proc(5) clear_refs): imports peaked higher.
Path("/proc/self/clear_refs").write_text("5")
base = status("VmRSS")
data = path.read_bytes()
if kind == "bundle":
    assert len(load_certificates(data)) > 1
elif kind == "cryptography-bundle":
    assert len(x509.load_pem_x509_certificates(data)) > 1
elif kind == "regex":  # encoding._PEM_RE until the linear scanner replaced it
    import re
    old = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\\r?\\n((?:[^-]|-(?!----))*)-----END \\1-----")
    assert sum(1 for _ in old.finditer(data)) == 1
else:
    reports = verify_cms(None, data, trust_anchors=root, at=__import__("datetime").datetime(
        2026, 1, 15, 12, tzinfo=__import__("datetime").UTC))
    assert all(r.valid for r in reports)
print(json.dumps({"base": base, "peak": peak(), "size": len(data)}))
"""


def _child(kind: str, path: Path, anchor: Path) -> int:
    """Bytes the child's peak RSS grew by while reading ``path`` as ``kind``."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, str(path), str(anchor)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    return int(facts["peak"] - facts["base"])


def _openssl_peak(signature: Path, inform: str, anchor: Path) -> int:
    """``openssl cms -verify``'s peak RSS on ``signature`` less that of ``openssl version``,
    each measured by ``/usr/bin/time`` (whose own small process is what forks)."""

    def run(args: list[str]) -> int:
        result = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True, check=True
        )
        return int(result.stderr.strip().splitlines()[-1]) * 1024

    verify = ["openssl", "cms", "-verify", "-binary", "-inform", inform, "-in", str(signature)]
    verify += ["-CAfile", str(anchor), "-purpose", "any", "-out", os.devnull]
    verify += ["-attime", str(int(AT.timestamp()))]
    return run(verify) - run(["openssl", "version"])


def _inputs(base: Path, size: int) -> tuple[Path, Path, Path, Path]:
    """A PEM bundle, and an attached DER and PEM signature over ``size`` bytes; the anchor."""
    clock = FixedClock(AT)
    root = CertificateAuthority.create_root(
        "CN=Input Root,O=Bench,C=EX", base / "root", passphrase=b"bench pass", clock=clock
    )
    key = generate_key("ec-p256")
    issued = root.issue(
        create_csr(key, parse_name("CN=Input Seal,O=Bench Org,C=EX,2.5.4.97=VATEX-1")),
        "org-seal",
        at=AT,
    )
    anchor = base / "anchor.pem"
    anchor.write_bytes(root.certificate.public_bytes(Encoding.PEM))
    unit = issued.certificate.public_bytes(Encoding.PEM)
    bundle = base / "bundle.pem"
    bundle.write_bytes(unit * (size // len(unit)))
    der = sign(os.urandom(size), Signer(key, issued.certificate, ()), at=AT, attached=True)
    signature_der = base / "signature.p7s"
    signature_der.write_bytes(der)
    signature_pem = base / "signature.pem"
    signature_pem.write_bytes(pem_encode("CMS", der))
    return bundle, signature_der, signature_pem, anchor


def _row(workload: str, size: int, ours: int, peers: dict[str, float]) -> dict[str, object]:
    mb = 1e6
    return {
        "workload": workload,
        "trustkit": round(ours / mb, 1),
        "limit": round(size / mb, 1),
        "ratio": round(size / ours, 2) if ours > 0 else None,
        "unit": "MB peak",
        "peers": {name: round(value / mb, 1) for name, value in peers.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,16,64", help="input sizes in MiB")
    parser.add_argument("--quick", action="store_true", help="1 and 16 MiB")
    parser.add_argument(
        "--no-before", action="store_true", help="skip the old expression (at 1 MiB, 240 MB)"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON, last line")
    args = parser.parse_args()
    sizes = [1, 16] if args.quick else [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, object]] = []
    print("size  input            trustkit peak  bytes/byte  peers (peak)")
    for mib in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            bundle, signature_der, signature_pem, anchor = _inputs(Path(tmp), mib * MIB)
            cases = [
                ("PEM bundle", bundle, "bundle", {"cryptography": ("cryptography-bundle", None)}),
                ("CMS DER", signature_der, "cms", {"openssl cms": ("openssl", "DER")}),
                ("CMS PEM", signature_pem, "cms", {"openssl cms": ("openssl", "PEM")}),
            ]
            for label, path, kind, peer_specs in cases:
                size = path.stat().st_size
                ours = _child(kind, path, anchor)
                peers: dict[str, float] = {}
                for name, (peer_kind, inform) in peer_specs.items():
                    if peer_kind == "openssl":
                        peers[name] = _openssl_peak(path, str(inform), anchor)
                    else:
                        peers[name] = _child(peer_kind, path, anchor)
                if not args.no_before and mib == 1 and label == "CMS PEM":
                    peers["expression before"] = _child("regex", path, anchor)
                peer_text = ", ".join(f"{n} {v / 1e6:.1f} MB" for n, v in peers.items())
                print(
                    f"{mib:>2} MiB {label:<16} {ours / 1e6:>8.1f} MB {ours / size:>10.2f}  "
                    f"{peer_text}",
                    flush=True,
                )
                rows.append(_row(f"W9 {label}, {mib} MiB", size, ours, peers))
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    sys.exit(main())
