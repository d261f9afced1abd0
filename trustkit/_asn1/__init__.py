"""The one place asn1crypto is used.

cryptography parses and builds the X.509 structures trustkit needs, except a
few it leaves opaque (QCStatements, CMS SignedData internals, RFC 3161
structures, the parameters of an EC key). Those are encoded and decoded here,
and only here, so the rest of trustkit deals in cryptography objects and plain
Python values. One module per area: :mod:`.qc`, :mod:`.keys`,
:mod:`.certificate`, :mod:`.revocation` (CRL entries, OCSP), :mod:`.cms`,
:mod:`.cms_template`, :mod:`.tsp` (RFC 3161); :mod:`._der` reads and writes DER
headers by hand where asn1crypto would decode too much.
"""

from __future__ import annotations

from ._der import _element  # noqa: F401  (tests read DER headers through it)
from .certificate import (
    CertificateEncoding,
    certificate_encoding,
    decode_policy_mappings,
)
from .cms import (
    ID_AA_TIMESTAMP_TOKEN,
    ID_CT_TST_INFO,
    ID_DATA,
    ID_SIGNED_DATA,
    EssCertId,
    ParsedSignedData,
    ParsedSignerInfo,
    add_signer_info,
    add_unsigned_attribute,
    encode_signed_attributes,
    encode_signed_data,
    encode_signer_info,
    parse_signed_data,
)
from .cms_template import (
    SignerTemplate,
    signed_attributes_from_template,
    signed_data_from_template,
    signer_template,
)
from .keys import (
    ECParametersChoice,
    Pbes2Parameters,
    certificate_ec_parameters,
    csr_ec_parameters,
    curve_encoding_problem,
    ec_parameters_block_choice,
    encode_pbes2_private_key_info,
    pbes2_parameters,
    private_key_ec_parameters,
    public_key_info_ec_parameters,
)
from .qc import (
    QC_COMPLIANCE,
    QC_PDS,
    QC_SSCD,
    QC_SYNTAX_V2,
    QC_TYPE,
    QcStatementInfo,
    decode_qc_statements,
    encode_qc_statements,
)
from .revocation import (
    OCSPCertID,
    OCSPRequestInfo,
    OCSPSingleAnswer,
    assemble_crl,
    crl_tbs_with_entries,
    encode_revoked_entry,
    ocsp_response_data,
    ocsp_signature_algorithm,
    ocsp_successful_response,
    parse_ocsp_request,
)
from .tsp import (
    TimestampRequest,
    TimestampResponse,
    TstInfo,
    encode_timestamp_request,
    encode_timestamp_response,
    encode_tst_info,
    parse_timestamp_request,
    parse_timestamp_response,
    parse_tst_info,
)

__all__ = [
    "ID_AA_TIMESTAMP_TOKEN",
    "ID_CT_TST_INFO",
    "ID_DATA",
    "ID_SIGNED_DATA",
    "QC_COMPLIANCE",
    "QC_PDS",
    "QC_SSCD",
    "QC_SYNTAX_V2",
    "QC_TYPE",
    "CertificateEncoding",
    "ECParametersChoice",
    "EssCertId",
    "OCSPCertID",
    "OCSPRequestInfo",
    "OCSPSingleAnswer",
    "ParsedSignedData",
    "ParsedSignerInfo",
    "Pbes2Parameters",
    "QcStatementInfo",
    "SignerTemplate",
    "TimestampRequest",
    "TimestampResponse",
    "TstInfo",
    "add_signer_info",
    "add_unsigned_attribute",
    "assemble_crl",
    "certificate_ec_parameters",
    "certificate_encoding",
    "crl_tbs_with_entries",
    "csr_ec_parameters",
    "curve_encoding_problem",
    "decode_policy_mappings",
    "decode_qc_statements",
    "ec_parameters_block_choice",
    "encode_pbes2_private_key_info",
    "encode_qc_statements",
    "encode_revoked_entry",
    "encode_signed_attributes",
    "encode_signed_data",
    "encode_signer_info",
    "encode_timestamp_request",
    "encode_timestamp_response",
    "encode_tst_info",
    "ocsp_response_data",
    "ocsp_signature_algorithm",
    "ocsp_successful_response",
    "parse_ocsp_request",
    "parse_signed_data",
    "parse_timestamp_request",
    "parse_timestamp_response",
    "parse_tst_info",
    "pbes2_parameters",
    "private_key_ec_parameters",
    "public_key_info_ec_parameters",
    "signed_attributes_from_template",
    "signed_data_from_template",
    "signer_template",
]
