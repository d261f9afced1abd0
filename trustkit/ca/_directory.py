"""A CA directory on disk: checking it is free, and writing a new CA into it."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .._files import make_private_directory, write_atomic
from ..clock import Clock
from ..config import CA_CERT_FILE, CHAIN_FILE, DEFAULT_KEY_FILE, CAConfig, check_new_ca_directory
from ..encoding import pem_encode
from ..errors import PassphraseError
from ..keys import PrivateKey, save_private_key
from ..names import parse_name
from ..profiles import profiles_from_config
from ..store import CertificateStore, open_store
from ._records import key_identifier

__all__ = ["write_directory"]


def _profile_tables(
    profiles: Mapping[str, Mapping[str, Any]] | None,
) -> Mapping[str, Mapping[str, Any]]:
    """``[profiles.*]`` tables for a new CA's configuration, checked before anything is made."""
    tables = MappingProxyType({name: dict(table) for name, table in (profiles or {}).items()})
    profiles_from_config(tables)
    return tables


def _as_name(subject: str | x509.Name) -> x509.Name:
    return parse_name(subject) if isinstance(subject, str) else subject


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = values[0].value if values else name.rfc4514_string()
    return value if isinstance(value, str) else value.decode("latin-1")


def _key_reference(key: PrivateKey | None) -> tuple[str, str | None]:
    """Where the configuration finds the key: a file, or a token's URI and module."""
    uri = getattr(key, "uri", None)
    if uri is None:
        return DEFAULT_KEY_FILE, None
    module = getattr(getattr(key, "token", None), "module_path", None)
    return str(uri), None if module is None else str(module)


def write_directory(
    directory: Path,
    config: CAConfig,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    key: PrivateKey,
    *,
    passphrase: bytes | None,
    clock: Clock,
    allow_unencrypted_key: bool,
    own_record_profile: str | None = None,
) -> CertificateStore:
    """Write a new CA directory and open its store; on any failure remove what was written.

    A software key is written encrypted to the key file; a key on a token
    (the configuration holds its URI) stays there.
    """
    check_new_ca_directory(directory)
    key_path = config.key_path(directory)
    if key_path is not None and not passphrase and not allow_unencrypted_key:
        raise PassphraseError("CA key: a passphrase is needed (keys are encrypted at rest)")
    created_dirs = make_private_directory(directory)
    written: list[Path] = []
    store: CertificateStore | None = None
    try:
        if key_path is not None:
            written.append(
                save_private_key(
                    key,
                    key_path,
                    passphrase or None,
                    allow_unencrypted=allow_unencrypted_key,
                    exclusive=True,
                )
            )
        written.append(
            write_atomic(
                directory / CA_CERT_FILE,
                pem_encode("CERTIFICATE", certificate.public_bytes(Encoding.DER)),
                exclusive=True,
            )
        )
        written.append(
            write_atomic(
                directory / CHAIN_FILE,
                b"".join(pem_encode("CERTIFICATE", c.public_bytes(Encoding.DER)) for c in chain),
                exclusive=True,
            )
        )
        store_url = config.store_url(directory)
        if store_url.startswith("sqlite:///"):
            written.extend(
                Path(store_url.removeprefix("sqlite:///") + suffix)
                for suffix in ("", "-wal", "-shm")
            )
        store = open_store(store_url)
        if own_record_profile is not None:
            store.add(key_identifier(certificate), own_record_profile, certificate, at=clock.now())
        config.write(directory, exclusive=True)
    except BaseException:
        if store is not None:
            store.close()
        for path in written:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for created in reversed(created_dirs):
            with contextlib.suppress(OSError):
                created.rmdir()
        raise
    return store
