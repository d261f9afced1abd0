"""Optional HTTP fetching of CRLs, OCSP responses and issuer certificates."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509 import ocsp

__all__ = ["DEFAULT_FETCH_LIMIT", "DEFAULT_FETCH_TIMEOUT", "HttpFetcher"]

DEFAULT_FETCH_TIMEOUT = 5.0
"""Seconds allowed for connecting and for each read."""

DEFAULT_FETCH_LIMIT = 4 * 1024 * 1024
"""Largest response body read, in bytes."""


@dataclass(frozen=True)
class HttpFetcher:
    """Fetches revocation data and issuers over plain ``http://`` (RFC 5280 4.2.1.13,
    4.2.2.1; RFC 6960 A.1). Passing one to :func:`validate` is the explicit opt-in to
    network access; without it validation is offline.

    Failures (timeouts, oversized or unparseable bodies, other schemes) give
    ``None``: the caller then has no evidence, which the revocation mode judges.
    """

    timeout: float = DEFAULT_FETCH_TIMEOUT
    """Seconds for connect and read."""
    max_bytes: int = DEFAULT_FETCH_LIMIT
    """Response size limit; a longer body is dropped."""

    def _request(self, url: str, body: bytes | None = None) -> bytes | None:
        if not url.lower().startswith("http://"):
            return None
        import httpx  # imported lazily: validation is offline unless asked

        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                if body is None:
                    request = client.build_request("GET", url)
                else:
                    request = client.build_request(
                        "POST",
                        url,
                        content=body,
                        headers={"Content-Type": "application/ocsp-request"},
                    )
                response = client.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        return None
                    data = bytearray()
                    for chunk in response.iter_bytes():
                        data += chunk
                        if len(data) > self.max_bytes:
                            return None
                    return bytes(data)
                finally:
                    response.close()
        except (httpx.HTTPError, ValueError, OSError):
            return None

    def fetch_crl(self, url: str) -> x509.CertificateRevocationList | None:
        """The CRL at ``url`` (DER or PEM), or ``None``."""
        data = self._request(url)
        if data is None:
            return None
        try:
            if data.startswith(b"-----"):
                return x509.load_pem_x509_crl(data)
            return x509.load_der_x509_crl(data)
        except (ValueError, x509.InvalidVersion):  # InvalidVersion is no ValueError
            return None

    def fetch_ocsp(
        self, url: str, cert: x509.Certificate, issuer: x509.Certificate
    ) -> ocsp.OCSPResponse | None:
        """An OCSP response for ``cert`` from the responder at ``url`` (RFC 6960 A.1 POST)."""
        try:
            request = (
                ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
            )
        except (ValueError, TypeError):
            return None
        data = self._request(url, request.public_bytes(serialization.Encoding.DER))
        if data is None:
            return None
        try:
            return ocsp.load_der_ocsp_response(data)
        except ValueError:
            return None

    def fetch_certificates(self, url: str) -> list[x509.Certificate]:
        """Certificates at an AIA caIssuers ``url``: DER, PEM, or a PKCS#7 bundle."""
        data = self._request(url)
        if data is None:
            return []
        for loader in (
            lambda d: [x509.load_der_x509_certificate(d)],
            x509.load_pem_x509_certificates,
            pkcs7.load_der_pkcs7_certificates,
        ):
            try:
                return list(loader(data))
            except (ValueError, x509.InvalidVersion):
                continue
        return []
