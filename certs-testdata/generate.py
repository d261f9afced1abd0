#!/usr/bin/env python3
"""Regenerate certs-testdata/ from spec.toml.

    python certs-testdata/generate.py              # rewrite the files beside this script
    python certs-testdata/generate.py --out DIR    # write them somewhere else

A root CA, an issuing CA under it, one certificate per ``[[certificate]]``
entry and one CSR per ``[[csr]]`` entry, all made through trustkit's public
API on a fixed clock (the spec's ``at``). Private keys live in ``keys/`` and
are reused on every run, so names, times, keys and extensions come out the
same each time; serial numbers and ECDSA signatures are random, so the
certificate files still change. Delete a key file to get a fresh key.

The CA directories (configuration, SQLite store) are made in a temporary
directory and thrown away; only certificates, keys and CSRs are kept.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from trustkit._files import write_atomic
from trustkit.clock import FixedClock
from trustkit.encoding import pem_encode
from trustkit.keys import (
    KeyType,
    PrivateKey,
    generate_key,
    key_type_of,
    load_private_key_file,
    save_private_key,
)
from trustkit.testing import SampleRequest, make_pki, write_pem

HERE = Path(__file__).resolve().parent


class SpecError(Exception):
    """spec.toml is missing something or says something wrong."""


def _field(table: Mapping[str, Any], name: str, where: str) -> Any:
    try:
        return table[name]
    except KeyError:
        raise SpecError(f"{where}: missing {name!r}") from None


def _key(keys: Path, name: str, key_type: str) -> PrivateKey:
    """The key in ``keys/NAME.key``, made (unencrypted: test data) if there is none."""
    wanted = KeyType.parse(key_type)
    path = keys / f"{name}.key"
    if path.exists():
        key = load_private_key_file(path, None)
        if key_type_of(key) is not wanted:
            raise SpecError(f"{path}: not a {wanted.value} key; delete it to make a new one")
        return key
    key = generate_key(wanted)
    save_private_key(key, path, None, allow_unencrypted=True)
    return key


def generate(spec_path: Path, out: Path) -> list[Path]:
    """Build everything ``spec_path`` describes into ``out``; the paths written."""
    spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    at = _field(spec, "at", "spec")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise SpecError("spec: 'at' must be a TOML date-time with an offset (2026-01-15T12:00:00Z)")
    root_spec = _field(spec, "root", "spec")
    issuing_spec = _field(spec, "issuing", "spec")
    keys = out / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def key_for(entry: Mapping[str, Any], where: str) -> PrivateKey:
        name = _field(entry, "file", where)
        path = keys / f"{name}.key"
        key = _key(keys, name, _field(entry, "key_type", where))
        written.append(path)
        return key

    root_key = key_for(root_spec, "[root]")
    issuing_key = key_for(issuing_spec, "[issuing]")
    with tempfile.TemporaryDirectory(prefix="trustkit-testdata-") as work:
        with make_pki(
            work,
            FixedClock(at),
            root_subject=_field(root_spec, "subject", "[root]"),
            issuing_subject=_field(issuing_spec, "subject", "[issuing]"),
            base_url=_field(spec, "base_url", "spec"),
            root_key=root_key,
            issuing_key=issuing_key,
            path_length=issuing_spec.get("path_length"),
        ) as pki:
            root_file = out / f"{root_spec['file']}.pem"
            issuing_file = out / f"{issuing_spec['file']}.pem"
            written.append(write_pem(root_file, pki.root.certificate))
            written.append(write_pem(issuing_file, pki.issuing.certificate))
            written.append(write_pem(out / "chain.pem", *pki.chain))
            for index, entry in enumerate(spec.get("certificate", [])):
                where = f"[[certificate]] #{index + 1}"
                request = SampleRequest(
                    _field(entry, "subject", where), tuple(entry.get("sans", ()))
                )
                sample = pki.issue_sample(
                    _field(entry, "profile", where),
                    request,
                    key=key_for(entry, where),
                    days=entry.get("days"),
                )
                written.append(write_pem(out / f"{entry['file']}.pem", sample.certificate))
    for index, entry in enumerate(spec.get("csr", [])):
        where = f"[[csr]] #{index + 1}"
        request = SampleRequest(_field(entry, "subject", where), tuple(entry.get("sans", ())))
        csr = request.csr(key_for(entry, where))
        data = pem_encode("CERTIFICATE REQUEST", csr.public_bytes(Encoding.DER))
        written.append(write_atomic(out / f"{entry['file']}.csr", data))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=HERE / "spec.toml", help="the spec to build")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: here)")
    args = parser.parse_args(argv)
    try:
        written = generate(args.spec, args.out)
    except (SpecError, tomllib.TOMLDecodeError) as exc:
        print(f"generate.py: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path.relative_to(args.out) if path.is_relative_to(args.out) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
