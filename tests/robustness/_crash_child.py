"""The process that tests/robustness/test_crash.py kills: issues, revokes and builds CRLs.

Run as ``python -m tests.robustness._crash_child CA_DIR SEED``. Every line it
prints names something the library returned: ``I serial`` after an issuance,
``R serial`` after a revocation, ``C number`` after a CRL; so everything
printed must survive the SIGKILL that ends the process.
"""

from __future__ import annotations

import random
import sys

from cryptography import x509

from trustkit.ca import CertificateAuthority
from trustkit.csr import create_csr
from trustkit.keys import generate_key
from trustkit.names import parse_general_names, parse_name
from trustkit.revocation.crl import build_crl


def main(ca_dir: str, seed: int) -> None:
    rng = random.Random(seed)
    ca = CertificateAuthority.open(ca_dir)
    ca.key  # noqa: B018 - unlocked before "ready"
    key = generate_key("ec-p256")
    print("ready", flush=True)
    issued: list[int] = []
    step = 0
    while True:
        step += 1
        host = f"h{seed}-{step}.example.gov"
        csr = create_csr(key, parse_name(f"CN={host}"), parse_general_names([f"dns:{host}"]))
        serial = ca.issue(csr, "tls-server").serial
        issued.append(serial)
        print(f"I {serial:x}", flush=True)
        if step % 3 == 0:
            victim = issued.pop(rng.randrange(len(issued)))
            ca.revoke(victim, x509.ReasonFlags.key_compromise)
            print(f"R {victim:x}", flush=True)
        if step % 4 == 0:
            crl = build_crl(ca, at=ca.clock.now())
            print(f"C {crl.crl_number}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
