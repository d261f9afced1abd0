"""A CA directory and its ``trustkit.toml``.

A CA is a directory::

    trustkit.toml   name, key reference, store URL, publication URLs, profiles
    ca.pem          this CA's certificate
    chain.pem       its issuers up to the root (empty for a root)
    ca.key          the private key, encrypted PKCS#8, mode 0600 (or a pkcs11: URI in the config)
    store.db        the SQLite store, unless ``store`` names another

``trustkit.toml``::

    [ca]
    name = "citizen-ca"                   # used in URLs: /crl/citizen-ca.crl
    key = "ca.key"                        # or "pkcs11:token=...;object=..."
    pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"   # for a pkcs11: key
    store = "sqlite:///store.db"          # relative paths are inside the CA directory

    [urls]
    base = "http://pki.example.gov"       # derives the three below unless they are given
    crl = "http://pki.example.gov/crl/citizen-ca.crl"
    ocsp = "http://pki.example.gov/ocsp"
    ca_issuers = "http://pki.example.gov/ca/citizen-ca.crt"

    [crl]
    next_update_hours = 24
    shards = 0                            # N > 0 partitions the CRL: /crl/citizen-ca-3.crl

    [profiles.tls-server]                 # override a built-in profile
    validity_days = 90

Unknown top-level tables are kept (``extra``) for other parts of trustkit,
such as the service.
"""

from __future__ import annotations

import itertools
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import tomli_w
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from ._files import PRIVATE_MODE, PUBLIC_MODE, write_atomic
from .errors import ConfigError, ProfileError
from .profiles import Profile, profiles_from_config

__all__ = [
    "CA_CERT_FILE",
    "CA_FILES",
    "CHAIN_FILE",
    "CONFIG_FILE",
    "DEFAULT_CRL_NEXT_UPDATE",
    "DEFAULT_KEY_FILE",
    "DEFAULT_STORE_FILE",
    "CAConfig",
    "ca_names_in_use",
    "check_new_ca_directory",
    "choose_ca_name",
    "slugify",
]

CONFIG_FILE = "trustkit.toml"
CA_CERT_FILE = "ca.pem"
CHAIN_FILE = "chain.pem"
DEFAULT_KEY_FILE = "ca.key"
DEFAULT_STORE_FILE = "store.db"
CA_FILES = (CONFIG_FILE, DEFAULT_KEY_FILE, CA_CERT_FILE, CHAIN_FILE, DEFAULT_STORE_FILE)
"""The files of a CA directory: a new CA is made only where none of them is."""
DEFAULT_CRL_NEXT_UPDATE = timedelta(hours=24)
"""How long a CRL stays current when the configuration does not say."""

_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_MAX_CRL_NEXT_UPDATE_HOURS = 24 * 366 * 100
"""A century: longer is a typo, and would push nextUpdate past what a date can hold."""


def check_new_ca_directory(directory: Path) -> None:
    """Refuse ``directory`` for a new CA if it holds any CA file, or is not a directory.

    Any one of :data:`CA_FILES` is enough, a symbolic link or a dangling one
    included: a directory that lost its ``trustkit.toml`` still holds a CA
    key that a new CA would destroy, and reusing its ``store.db`` would mix
    two CAs' records.
    """
    if os.path.lexists(directory) and not directory.is_dir():
        raise ConfigError(f"{directory}: exists and is not a directory")
    found = [name for name in CA_FILES if os.path.lexists(directory / name)]
    if found:
        raise ConfigError(
            f"{directory}: already holds a CA or part of one ({', '.join(found)}); a new CA "
            f"is made only where none of {', '.join(CA_FILES)} is, so nothing is overwritten"
        )


_CA_ISSUERS_NAME_RE = re.compile(r"/ca/([a-z0-9][a-z0-9-]{0,62})\.crt$")
"""The CA name in a caIssuers URL trustkit wrote (``.../ca/NAME.crt``)."""


def ca_names_in_use(
    directory: Path,
    *,
    parent_directory: Path | None = None,
    parent_name: str | None = None,
    chain: Iterable[x509.Certificate] = (),
    siblings: bool = True,
) -> dict[str, str]:
    """CA names already taken around a new CA in ``directory``: name -> where it is used.

    The hierarchy above: the parent's name and the names in the caIssuers
    URLs of the chain's certificates (each names its issuer, RFC 5280
    4.2.2.1). With ``siblings``, also the CAs in the directories beside the
    new one and beside the parent: where ``trustkit serve`` would most likely
    publish them together, under URLs derived from their names.
    """
    used: dict[str, str] = {}
    if parent_name is not None:
        used[parent_name] = f"the parent CA ({parent_directory})"
    for certificate in chain:
        for url in _ca_issuers_urls(certificate):
            match = _CA_ISSUERS_NAME_RE.search(url)
            if match:
                used.setdefault(match.group(1), f"a CA above (caIssuers {url})")
    if siblings:
        new = directory.resolve()
        places = {new.parent}
        if parent_directory is not None:
            places.add(parent_directory.resolve().parent)
        for place in sorted(places):
            for name, where in _names_in(place, skip=new):
                used.setdefault(name, f"the CA in {where}")
    return used


def _ca_issuers_urls(certificate: x509.Certificate) -> list[str]:
    try:
        aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [
        str(d.access_location.value)
        for d in aia.value
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def _names_in(place: Path, *, skip: Path) -> Iterable[tuple[str, Path]]:
    """``(name, directory)`` of each CA directory directly inside ``place``."""
    try:
        entries = sorted(place.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.resolve() == skip:
            continue
        try:
            data = tomllib.loads((entry / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a CA directory, or not one that can be read: nothing to clash with
        ca = data.get("ca")
        if isinstance(ca, Mapping) and isinstance(ca.get("name"), str):
            yield ca["name"], entry


def choose_ca_name(requested: str | None, subject: x509.Name, used: Mapping[str, str]) -> str:
    """The name of a new CA: ``requested`` if free, else a free one from its common name.

    A name given explicitly that is already in ``used`` is refused
    (:class:`ConfigError`). A name derived from the common name that is taken,
    as by a root rollover keeping its CN, gets the next generation suffix:
    ``citizen-ca-2``, ``citizen-ca-3``; the URLs in its certificates are
    derived from it, so two generations never share a CRL or certificate URL.
    """
    if requested is not None:
        if requested in used:
            raise ConfigError(
                f"ca.name {requested!r}: already used by {used[requested]}; CA names must be "
                "unique in a hierarchy, as they name its CRL and certificate URLs"
            )
        return requested
    values = subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    text = values[0].value if values else subject.rfc4514_string()
    base = slugify(text if isinstance(text, str) else text.decode("latin-1"))
    if base not in used:
        return base
    for generation in itertools.count(2):
        suffix = f"-{generation}"
        candidate = base[: 63 - len(suffix)].rstrip("-") + suffix
        if candidate not in used:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def slugify(text: str) -> str:
    """A URL-safe CA name from a common name: ``Citizen CA 2026`` -> ``citizen-ca-2026``."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:63] or "ca"


@dataclass(frozen=True)
class CAConfig:
    """The settings of one CA directory."""

    name: str
    """Short name used in URLs and listings."""
    key: str = DEFAULT_KEY_FILE
    """Key file relative to the CA directory, or an RFC 7512 ``pkcs11:`` URI."""
    store: str | None = None
    """Store URL; ``None`` means ``store.db`` in the CA directory."""
    pkcs11_module: str | None = None
    """PKCS#11 module (shared library) for a key on a token; else ``$TRUSTKIT_PKCS11_MODULE``."""
    base_url: str | None = None
    crl_url: str | None = None
    ocsp_url: str | None = None
    ca_issuers_url: str | None = None
    crl_next_update: timedelta = DEFAULT_CRL_NEXT_UPDATE
    crl_shards: int = 0
    """Number of CRL partitions; 0 publishes one full CRL (``[crl] shards``)."""
    crl_delta: bool = False
    """Publish delta CRLs and name them in issued certificates (``[crl] delta``, RFC 5280 5.2.6)."""
    profile_tables: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """The ``[profiles.*]`` tables as written."""
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Other top-level tables, kept for the parts of trustkit that read them."""

    def __post_init__(self) -> None:
        if not _SLUG_RE.fullmatch(self.name):
            raise ConfigError(
                f"ca.name {self.name!r}: use lower-case letters, digits and hyphens (URL-safe)"
            )
        for label, url in (
            ("urls.base", self.base_url),
            ("urls.crl", self.crl_url),
            ("urls.ocsp", self.ocsp_url),
            ("urls.ca_issuers", self.ca_issuers_url),
        ):
            if url is not None and (
                not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url)
            ):
                raise ConfigError(f"{label} {url!r}: must be an http:// or https:// URL")

    @cached_property
    def profiles(self) -> Mapping[str, Profile]:
        """Built-in profiles with this CA's overrides and additions.

        Parsed once per configuration (a changed configuration is a new
        ``CAConfig``), and the same :class:`Profile` objects every time, so
        per-profile caches keyed on them (the CA's extension templates) hold.
        """
        try:
            return MappingProxyType(dict(profiles_from_config(self.profile_tables)))
        except ProfileError as exc:
            raise ConfigError(f"{CONFIG_FILE}: {exc}") from exc

    def _derived(self, explicit: str | None, template: str) -> str | None:
        if explicit is not None:
            return explicit
        if self.base_url is None:
            return None
        return self.base_url.rstrip("/") + template.format(name=self.name)

    @property
    def effective_crl_url(self) -> str | None:
        """The CRL distribution point written into issued certificates."""
        return self._derived(self.crl_url, "/crl/{name}.crl")

    @property
    def effective_ocsp_url(self) -> str | None:
        """The OCSP responder URL written into issued certificates."""
        return self._derived(self.ocsp_url, "/ocsp")

    @property
    def effective_ca_issuers_url(self) -> str | None:
        """Where this CA's certificate is published (AIA caIssuers)."""
        return self._derived(self.ca_issuers_url, "/ca/{name}.crt")

    def store_url(self, directory: Path) -> str:
        """The store URL with a relative SQLite path resolved inside ``directory``."""
        url = self.store or f"sqlite:///{DEFAULT_STORE_FILE}"
        match = re.fullmatch(r"sqlite:///(.+)", url)
        if match and not match.group(1).startswith("/"):
            return f"sqlite:///{(directory / match.group(1)).resolve()}"
        return url

    def key_path(self, directory: Path) -> Path | None:
        """The key file's path, or ``None`` when the key is on a token."""
        if self.key.startswith("pkcs11:"):
            return None
        path = Path(self.key)
        return path if path.is_absolute() else directory / path

    def to_toml(self) -> bytes:
        """This configuration as ``trustkit.toml`` text."""
        ca: dict[str, Any] = {"name": self.name, "key": self.key}
        if self.store is not None:
            ca["store"] = self.store
        if self.pkcs11_module is not None:
            ca["pkcs11_module"] = self.pkcs11_module
        urls = {
            k: v
            for k, v in (
                ("base", self.base_url),
                ("crl", self.crl_url),
                ("ocsp", self.ocsp_url),
                ("ca_issuers", self.ca_issuers_url),
            )
            if v is not None
        }
        doc: dict[str, Any] = {"ca": ca}
        if urls:
            doc["urls"] = urls
        hours = self.crl_next_update.total_seconds() / 3600
        crl: dict[str, Any] = {"next_update_hours": int(hours) if hours.is_integer() else hours}
        if self.crl_shards:
            crl["shards"] = self.crl_shards
        if self.crl_delta:
            crl["delta"] = True
        doc["crl"] = crl
        if self.profile_tables:
            doc["profiles"] = {k: dict(v) for k, v in self.profile_tables.items()}
        doc.update({k: v for k, v in self.extra.items()})
        return tomli_w.dumps(doc).encode()

    def write(self, directory: Path, *, exclusive: bool = False) -> None:
        """Write ``trustkit.toml`` into ``directory``, atomically.

        With ``exclusive`` an existing file is refused (:class:`FileExistsError`), not replaced.
        The file is world-readable unless the store URL carries a password: then it is a
        secret, and written with mode 0600 like the key.
        """
        mode = PRIVATE_MODE if self.store_has_password else PUBLIC_MODE
        write_atomic(directory / CONFIG_FILE, self.to_toml(), mode=mode, exclusive=exclusive)

    @property
    def store_has_password(self) -> bool:
        """Whether the store URL carries a database password (better kept in ``~/.pgpass``)."""
        return self.store is not None and urlsplit(self.store).password is not None

    @classmethod
    def load(cls, directory: Path) -> CAConfig:
        """Read ``trustkit.toml`` from a CA directory."""
        path = directory / CONFIG_FILE
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{directory}: not a CA directory (no {CONFIG_FILE})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = CONFIG_FILE) -> CAConfig:
        """A configuration from parsed TOML."""
        ca = data.get("ca")
        if not isinstance(ca, Mapping) or "name" not in ca:
            raise ConfigError(f"{source}: needs a [ca] table with a name")
        urls = data.get("urls", {})
        crl = data.get("crl", {})
        profiles = data.get("profiles", {})
        for label, table in (("urls", urls), ("crl", crl), ("profiles", profiles)):
            if not isinstance(table, Mapping):
                raise ConfigError(f"{source}: [{label}] must be a table")
        hours = crl.get("next_update_hours", DEFAULT_CRL_NEXT_UPDATE.total_seconds() / 3600)
        # "not 0 < hours" also refuses NaN; the bound keeps timedelta and nextUpdate finite.
        if not isinstance(hours, int | float) or not 0 < hours <= _MAX_CRL_NEXT_UPDATE_HOURS:
            raise ConfigError(
                f"{source}: crl.next_update_hours must be a positive number of hours, "
                f"at most {_MAX_CRL_NEXT_UPDATE_HOURS} (a century)"
            )
        shards = crl.get("shards", 0)
        if not isinstance(shards, int) or isinstance(shards, bool) or shards < 0:
            raise ConfigError(f"{source}: crl.shards must be a whole number, 0 or more")
        delta = crl.get("delta", False)
        if not isinstance(delta, bool):
            raise ConfigError(f"{source}: crl.delta must be true or false")
        extra = {k: v for k, v in data.items() if k not in {"ca", "urls", "crl", "profiles"}}
        config = cls(
            name=str(ca["name"]),
            key=str(ca.get("key", DEFAULT_KEY_FILE)),
            store=None if ca.get("store") is None else str(ca["store"]),
            pkcs11_module=None if ca.get("pkcs11_module") is None else str(ca["pkcs11_module"]),
            base_url=urls.get("base"),
            crl_url=urls.get("crl"),
            ocsp_url=urls.get("ocsp"),
            ca_issuers_url=urls.get("ca_issuers"),
            crl_next_update=timedelta(hours=hours),
            crl_shards=shards,
            crl_delta=delta,
            profile_tables=MappingProxyType(dict(profiles)),
            extra=MappingProxyType(extra),
        )
        config.profiles  # noqa: B018 - fail now, with the file named, if a profile is wrong
        return config
