"""trustkit: public-key infrastructure for identity management in e-services.

The happy path::

    from trustkit import CertificateAuthority
    ca = CertificateAuthority.create_root("CN=Example Root CA,O=Example,C=EX", "ca",
                                          passphrase=b"...")
    issued = ca.issue(csr, "tls-server")

Names are imported lazily, so ``import trustkit`` stays cheap for a CLI that
only needs one corner of the library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "CertificateAuthority": "trustkit.ca",
    "IssuedCertificate": "trustkit.ca",
    "KeyType": "trustkit.keys",
    "generate_key": "trustkit.keys",
    "load_private_key": "trustkit.keys",
    "save_private_key": "trustkit.keys",
    "parse_name": "trustkit.names",
    "parse_general_name": "trustkit.names",
    "create_csr": "trustkit.csr",
    "Profile": "trustkit.profiles",
    "get_profile": "trustkit.profiles",
    "open_store": "trustkit.store",
    "TrustkitError": "trustkit.errors",
    "PolicyViolation": "trustkit.errors",
}

__all__ = [
    "CertificateAuthority",
    "IssuedCertificate",
    "KeyType",
    "PolicyViolation",
    "Profile",
    "TrustkitError",
    "__version__",
    "create_csr",
    "generate_key",
    "get_profile",
    "load_private_key",
    "open_store",
    "parse_general_name",
    "parse_name",
    "save_private_key",
]

if TYPE_CHECKING:
    from .ca import CertificateAuthority, IssuedCertificate
    from .csr import create_csr
    from .errors import PolicyViolation, TrustkitError
    from .keys import KeyType, generate_key, load_private_key, save_private_key
    from .names import parse_general_name, parse_name
    from .profiles import Profile, get_profile
    from .store import open_store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trustkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
