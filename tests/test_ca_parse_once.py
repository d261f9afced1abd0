"""Profiles are parsed once per configuration, a CSR's key once per request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import trustkit.config
from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.keys import generate_key
from trustkit.names import parse_name

PASS = b"correct horse battery staple"
AT = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _csr(cn: str):  # type: ignore[no-untyped-def]
    return create_csr(generate_key(), parse_name(f"CN={cn},O=Example Government,C=EX"))


def _with_device_profile(directory: Path, days: int) -> None:
    config = directory / "trustkit.toml"
    text = config.read_text().split("\n[profiles.device]")[0]
    config.write_text(
        text + f'\n[profiles.device]\nbase = "tls-client"\nvalidity_days = {days}\n'
        f"max_validity_days = {days}\n"
    )


def test_profiles_are_parsed_once_per_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(AT)
    root = CertificateAuthority.create_root(
        "CN=Cache Root,O=Example Government,C=EX", tmp_path / "ca", passphrase=PASS, clock=clock
    )
    root.close()
    _with_device_profile(tmp_path / "ca", 30)
    calls: list[object] = []
    real = trustkit.config.profiles_from_config

    def counting(tables):  # type: ignore[no-untyped-def]
        calls.append(tables)
        return real(tables)

    monkeypatch.setattr(trustkit.config, "profiles_from_config", counting)
    ca = CertificateAuthority.open(tmp_path / "ca", passphrase=PASS, clock=clock)
    try:
        parsed = len(calls)
        first = ca.issue(_csr("sensor-1"), "device")
        templates = dict(ca._templates)
        for n in range(2, 6):
            ca.issue(_csr(f"sensor-{n}"), "device")
        assert len(calls) == parsed  # none per certificate
        assert ca._templates == templates  # the extension template was reused
        assert ca.config.profiles["device"] is ca.config.profiles["device"]
        # The shared parse cannot be changed through the mapping handed out.
        with pytest.raises(TypeError):
            ca.config.profiles["device"] = ca.config.profiles["tls-client"]  # type: ignore[index]
        cert = first.certificate
        assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=30)
    finally:
        ca.close()

    # Mirror: a changed configuration is parsed again and takes effect.
    _with_device_profile(tmp_path / "ca", 20)
    ca = CertificateAuthority.open(tmp_path / "ca", passphrase=PASS, clock=clock)
    try:
        cert = ca.issue(_csr("sensor-7"), "device").certificate
        assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=20)
        assert len(calls) > parsed
    finally:
        ca.close()


class _CountingCSR:
    """A CSR that counts how often its public key is parsed."""

    def __init__(self, csr: object) -> None:
        self._csr = csr
        self.parsed = 0

    def public_key(self) -> object:
        self.parsed += 1
        return self._csr.public_key()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._csr, name)


def test_the_csr_key_is_parsed_once_per_issuance(tmp_path: Path) -> None:
    ca = CertificateAuthority.create_root(
        "CN=Key Root,O=Example Government,C=EX",
        tmp_path / "ca",
        passphrase=PASS,
        clock=FixedClock(AT),
    )
    try:
        csr = _CountingCSR(_csr("sensor-1"))
        issued = ca.issue(csr, "tls-client")  # type: ignore[arg-type]
        assert csr.parsed == 1
        assert issued.certificate.public_key() == csr._csr.public_key()  # type: ignore[attr-defined]
        # Mirror: a second request parses its own key again (no cache across requests).
        issued = ca.issue(csr, "tls-client")  # type: ignore[arg-type]
        assert csr.parsed == 2
    finally:
        ca.close()
