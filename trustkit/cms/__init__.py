"""CMS (RFC 5652) document signatures: CAdES baseline B-B signing, with B-T timestamps.

Signing::

    from trustkit.cms import Signer, sign
    signature = sign(open("contract.pdf", "rb"), Signer(key, cert, chain), at=now)

Verification lives one layer up, in :mod:`trustkit.cms.verify`, because it
uses :mod:`trustkit.validation` for the signer's certificate path::

    from trustkit.cms.verify import verify_cms
    reports = verify_cms(open("contract.pdf", "rb"), signature, trust_anchors=[root])
"""

from __future__ import annotations

from ._algorithms import DigestAlgorithm, RSAPadding
from .sign import Signer, add_timestamp, cosign, sign

__all__ = ["DigestAlgorithm", "RSAPadding", "Signer", "add_timestamp", "cosign", "sign"]
