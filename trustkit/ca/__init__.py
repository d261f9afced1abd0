"""The certificate authority: a root or subordinate CA that issues from CSRs.

Three lines from nothing to a certificate::

    ca = CertificateAuthority.create_root("CN=Example Root CA,O=Example,C=EX", "ca",
                                          passphrase=b"...")
    issued = ca.issue(csr, "tls-server")

Issuance is a pipeline: the request is assembled (subject and SANs from the
CSR, validity from the profile), every check of :mod:`trustkit.policy` runs
and all violations are reported at once, the certificate is built from the
profile, and the store takes a fresh serial, signs with it and commits the
record in one transaction before the certificate is returned.

The package's parts: ``_authority`` (the :class:`CertificateAuthority`),
``_extensions`` (profile templates and the certificate builder),
``_directory`` (a CA directory on disk) and ``_records`` (what issuing returns).
"""

from __future__ import annotations

from ._authority import CertificateAuthority
from ._records import Enrollment, IssuedCertificate, key_identifier

__all__ = ["CertificateAuthority", "Enrollment", "IssuedCertificate", "key_identifier"]
