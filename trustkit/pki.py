"""A whole hierarchy from a declarative spec: ``trustkit pki apply SPEC.toml --out DIR``.

A spec names CAs and end-entity certificates; applying it creates what is
missing and leaves what exists alone, so it can be applied again after an
edit. ::

    [pki]
    base_url = "http://pki.example.gov"      # CRL, OCSP and CA URLs in certificates

    [service]                                # where `trustkit serve` will listen
    host = "127.0.0.1"
    port = 8080

    [ca.root]
    subject = "CN=Republic of Example Root CA,O=Republic of Example,C=EX"
    key_type = "ec-p384"
    days = 7300

    [ca.citizen-ca]
    parent = "root"
    subject = "CN=Citizen CA,O=Republic of Example,C=EX"
    permit = ["email:example.gov"]           # name constraints, as for `trustkit subca`

    [ca.citizen-ca.profiles.qualified-signature]   # profile tables for its trustkit.toml
    pds = { en = "https://pki.example.gov/pds/en.pdf" }

    [certificate.alice]
    ca = "citizen-ca"
    profile = "citizen-auth"
    subject = "CN=Alice Example,GN=Alice,SN=Example,serialNumber=PNOEX-19800101-1234,C=EX"
    sans = ["email:alice@example.gov"]
    pkcs12 = true                            # also alice.p12, passphrase in alice.p12.pass
    revoke = "keyCompromise"                 # revoked once issued

Layout of the output directory: one CA directory per ``[ca.NAME]`` (``DIR/NAME``),
and ``DIR/certs/NAME.pem`` (certificate), ``NAME-chain.pem`` (certificate and
chain), ``NAME.key`` (encrypted with the operator's passphrase, mode 0600),
and where asked ``NAME.p12`` with its own random passphrase in
``NAME.p12.pass`` (mode 0600).
"""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from ._files import make_private_directory, write_atomic, write_private
from .bundles import export_pkcs12
from .ca import CertificateAuthority
from .clock import Clock
from .config import CONFIG_FILE
from .csr import create_csr
from .errors import ConfigError, InputError, ProfileError, TrustkitError
from .keys import (
    DEFAULT_CA_KEY_TYPE,
    DEFAULT_LEAF_KEY_TYPE,
    KeyType,
    generate_key,
    save_private_key,
)
from .names import format_name, parse_general_names, parse_name, parse_name_constraint
from .profiles import check_path_length, profiles_from_config, validity_days
from .store import CertStatus

__all__ = [
    "ApplyReport",
    "CASpec",
    "CertificateSpec",
    "PKISpec",
    "ServiceSpec",
    "apply",
    "load_spec",
]

CERTS_DIR = "certs"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_REASONS = {reason.name.replace("_", ""): reason for reason in x509.ReasonFlags}


@dataclass(frozen=True)
class CASpec:
    """One ``[ca.NAME]`` table."""

    name: str
    subject: str
    parent: str | None = None
    key_type: KeyType = DEFAULT_CA_KEY_TYPE
    days: int | None = None
    path_length: int | None = None
    permit: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """``[ca.NAME.profiles.*]``: profile tables for the CA's ``trustkit.toml``."""


@dataclass(frozen=True)
class CertificateSpec:
    """One ``[certificate.NAME]`` table."""

    name: str
    ca: str
    profile: str
    subject: str
    sans: tuple[str, ...] = ()
    key_type: KeyType = DEFAULT_LEAF_KEY_TYPE
    days: int | None = None
    pkcs12: bool = False
    revoke: x509.ReasonFlags | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """The ``[service]`` table: where the HTTP service of this PKI listens."""

    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True)
class PKISpec:
    """A whole hierarchy: CAs in an order where parents come first, then certificates."""

    cas: tuple[CASpec, ...]
    certificates: tuple[CertificateSpec, ...] = ()
    base_url: str | None = None
    service: ServiceSpec = field(default_factory=ServiceSpec)


@dataclass(frozen=True)
class ApplyReport:
    """What applying a spec did."""

    out: Path
    added: tuple[str, ...]
    """One line per thing created or changed."""
    kept: tuple[str, ...]
    """One line per thing that existed already and was left alone."""
    ca_dirs: Mapping[str, Path]
    certificate_files: Mapping[str, Path]
    """Certificate name -> its PEM file."""


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _get(table: Mapping[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    if key not in table:
        if default is ...:
            raise ConfigError(f"{where}.{key}: required")
        return default
    value = table[key]
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: must be a whole number")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key}: must be {kind.__name__}")
    return value


_CA_KEYS = frozenset(
    {"subject", "parent", "key_type", "days", "path_length", "permit", "exclude", "profiles"}
)
_CERTIFICATE_KEYS = frozenset(
    {"ca", "profile", "subject", "sans", "key_type", "days", "pkcs12", "revoke"}
)


def _days(table: Mapping[str, Any], where: str) -> int | None:
    days: int | None = _get(table, "days", int, where, None)
    if days is not None:
        try:
            validity_days(days, field=f"{where}.days")
        except InputError as exc:
            raise ConfigError(str(exc)) from None
    return days


def _path_length(table: Mapping[str, Any], where: str) -> int | None:
    value: int | None = _get(table, "path_length", int, where, None)
    try:
        return check_path_length(value, field=f"{where}.path_length")
    except InputError as exc:
        raise ConfigError(str(exc)) from None


def _check_keys(table: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = set(table) - known
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(sorted(unknown))}; "
            f"known are {', '.join(sorted(known))}"
        )


def _profile_tables(table: Mapping[str, Any], where: str) -> Mapping[str, Mapping[str, Any]]:
    profiles = _table(table, "profiles", where)
    try:
        profiles_from_config(profiles)
    except ProfileError as exc:
        raise ConfigError(f"{where}.profiles: {exc}") from exc
    return {name: dict(value) for name, value in profiles.items()}


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _get(table, key, list, where, [])
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}.{key}: must be a list of strings")
    return tuple(values)


def _key_type(table: Mapping[str, Any], where: str, default: KeyType) -> KeyType:
    text = _get(table, "key_type", str, where, None)
    if text is None:
        return default
    try:
        return KeyType.parse(text)
    except TrustkitError as exc:
        raise ConfigError(f"{where}.key_type: {exc}") from exc


def _check_name(name: str, where: str) -> None:
    if not _NAME_RE.fullmatch(name):
        raise ConfigError(f"{where}: use lower-case letters, digits and hyphens in names")


def load_spec(path: str | Path) -> PKISpec:
    """Read and check a spec file; every problem is a ConfigError naming the key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such spec file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return parse_spec(data)


def parse_spec(data: Mapping[str, Any]) -> PKISpec:
    """A spec from parsed TOML."""
    unknown = set(data) - {"pki", "service", "ca", "certificate"}
    if unknown:
        raise ConfigError(f"spec: unknown table(s) {', '.join(sorted(unknown))}")
    pki = _table(data, "pki", "spec")
    service_table = _table(data, "service", "spec")
    service = ServiceSpec(
        host=_get(service_table, "host", str, "service", "127.0.0.1"),
        port=_get(service_table, "port", int, "service", 8080),
    )
    cas: dict[str, CASpec] = {}
    for name, table in _table(data, "ca", "spec").items():
        where = f"ca.{name}"
        _check_name(name, where)
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: must be a table")
        _check_keys(table, _CA_KEYS, where)
        cas[name] = CASpec(
            name=name,
            subject=_get(table, "subject", str, where, ...),
            parent=_get(table, "parent", str, where, None),
            key_type=_key_type(table, where, DEFAULT_CA_KEY_TYPE),
            days=_days(table, where),
            path_length=_path_length(table, where),
            permit=_strings(table, "permit", where),
            exclude=_strings(table, "exclude", where),
            profiles=_profile_tables(table, where),
        )
    ordered: list[CASpec] = []
    placed: set[str] = set()
    while len(ordered) < len(cas):
        ready = [
            c
            for c in cas.values()
            if c.name not in placed and (c.parent is None or c.parent in placed)
        ]
        if not ready:
            stuck = sorted(set(cas) - placed)
            for name in stuck:
                parent = cas[name].parent
                if parent not in cas:
                    raise ConfigError(f"ca.{name}.parent: no CA named {parent!r} in the spec")
            raise ConfigError(f"spec: CAs {', '.join(stuck)} are their own ancestors")
        for spec in sorted(ready, key=lambda c: c.name):
            ordered.append(spec)
            placed.add(spec.name)
    certificates = []
    for name, table in _table(data, "certificate", "spec").items():
        where = f"certificate.{name}"
        _check_name(name, where)
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: must be a table")
        _check_keys(table, _CERTIFICATE_KEYS, where)
        ca = _get(table, "ca", str, where, ...)
        if ca not in cas:
            raise ConfigError(f"{where}.ca: no CA named {ca!r} in the spec")
        reason_text = _get(table, "revoke", str, where, None)
        reason = None
        if reason_text is not None:
            reason = _REASONS.get(reason_text.replace("_", "").lower())
            if reason is None:
                raise ConfigError(f"{where}.revoke: {reason_text!r} is not an RFC 5280 reason code")
        certificates.append(
            CertificateSpec(
                name=name,
                ca=ca,
                profile=_get(table, "profile", str, where, ...),
                subject=_get(table, "subject", str, where, ""),
                sans=_strings(table, "sans", where),
                key_type=_key_type(table, where, DEFAULT_LEAF_KEY_TYPE),
                days=_days(table, where),
                pkcs12=_get(table, "pkcs12", bool, where, False),
                revoke=reason,
            )
        )
    return PKISpec(
        cas=tuple(ordered),
        certificates=tuple(certificates),
        base_url=_get(pki, "base_url", str, "pki", None),
        service=service,
    )


def _name_constraints(spec: CASpec) -> x509.NameConstraints | None:
    if not spec.permit and not spec.exclude:
        return None
    return x509.NameConstraints(
        permitted_subtrees=[parse_name_constraint(p) for p in spec.permit] or None,
        excluded_subtrees=[parse_name_constraint(e) for e in spec.exclude] or None,
    )


def apply(
    spec: PKISpec,
    out: str | Path,
    *,
    passphrase: bytes,
    clock: Clock | None = None,
) -> ApplyReport:
    """Create whatever of ``spec`` is missing under ``out``; leave the rest alone.

    CA and end-entity keys are encrypted with ``passphrase``.
    """
    out = Path(out)
    make_private_directory(out)  # it holds keys: 0700 whatever the umask
    added: list[str] = []
    kept: list[str] = []
    opened: dict[str, CertificateAuthority] = {}
    try:
        for ca_spec in spec.cas:
            directory = out / ca_spec.name
            if (directory / CONFIG_FILE).exists():
                ca = CertificateAuthority.open(directory, passphrase=passphrase, clock=clock)
                if ca.certificate.subject != parse_name(ca_spec.subject):
                    raise ConfigError(
                        f"ca.{ca_spec.name}: {directory} holds "
                        f"{format_name(ca.certificate.subject)}, not the spec's subject"
                    )
                kept.append(f"CA {ca_spec.name} ({directory})")
            elif ca_spec.parent is None:
                ca = CertificateAuthority.create_root(
                    ca_spec.subject,
                    directory,
                    passphrase=passphrase,
                    key_type=ca_spec.key_type,
                    days=ca_spec.days,
                    name=ca_spec.name,
                    base_url=spec.base_url,
                    path_length=ca_spec.path_length,
                    clock=clock,
                    profiles=ca_spec.profiles,
                )
                added.append(f"root CA {ca_spec.name} ({directory})")
            else:
                ca = opened[ca_spec.parent].create_subordinate(
                    ca_spec.subject,
                    directory,
                    passphrase=passphrase,
                    key_type=ca_spec.key_type,
                    days=ca_spec.days,
                    name=ca_spec.name,
                    base_url=spec.base_url,
                    path_length=ca_spec.path_length if ca_spec.path_length is not None else 0,
                    name_constraints=_name_constraints(ca_spec),
                    profiles=ca_spec.profiles,
                )
                added.append(f"CA {ca_spec.name} under {ca_spec.parent} ({directory})")
            opened[ca_spec.name] = ca
        certs_dir = out / CERTS_DIR
        make_private_directory(certs_dir)
        files: dict[str, Path] = {}
        for cert_spec in spec.certificates:
            files[cert_spec.name] = _apply_certificate(
                cert_spec, opened[cert_spec.ca], certs_dir, passphrase, added, kept
            )
    finally:
        for ca in opened.values():
            ca.close()
    return ApplyReport(
        out=out,
        added=tuple(added),
        kept=tuple(kept),
        ca_dirs={name: out / name for name in opened},
        certificate_files=files,
    )


def _apply_certificate(
    spec: CertificateSpec,
    ca: CertificateAuthority,
    certs_dir: Path,
    passphrase: bytes,
    added: list[str],
    kept: list[str],
) -> Path:
    cert_path = certs_dir / f"{spec.name}.pem"
    if cert_path.exists():
        from .encoding import load_certificate

        certificate = load_certificate(cert_path.read_bytes(), what=str(cert_path))
        kept.append(f"certificate {spec.name} ({cert_path})")
    else:
        key = generate_key(spec.key_type)
        subject = parse_name(spec.subject) if spec.subject else x509.Name([])
        csr = create_csr(key, subject, parse_general_names(spec.sans))
        issued = ca.issue(csr, spec.profile, days=spec.days)
        certificate = issued.certificate
        # The key first: a certificate file without its key would be kept as
        # "existing" on the next run.
        save_private_key(key, certs_dir / f"{spec.name}.key", passphrase)
        if spec.pkcs12:
            p12_secret = secrets.token_urlsafe(12)
            write_private(certs_dir / f"{spec.name}.p12.pass", p12_secret.encode() + b"\n")
            write_private(
                certs_dir / f"{spec.name}.p12",
                export_pkcs12(
                    certificate, key, issued.chain, p12_secret.encode(), friendly_name=spec.name
                ),
            )
        write_atomic(certs_dir / f"{spec.name}-chain.pem", issued.fullchain_pem())
        write_atomic(cert_path, issued.pem())
        added.append(f"certificate {spec.name} ({spec.profile}, from {ca.config.name})")
    if spec.revoke is not None:
        record = ca.get(certificate.serial_number)
        if record.status is CertStatus.VALID:
            ca.revoke(certificate.serial_number, spec.revoke)
            added.append(f"revoked {spec.name} ({spec.revoke.value})")
    return cert_path
