"""Revocation artefacts: CRLs (:mod:`.crl`) and an OCSP responder (:mod:`.ocsp`)."""
