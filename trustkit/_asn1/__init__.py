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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._der import _element as _element
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

_HOMES = {
    "CertificateEncoding": "certificate",
    "ECParametersChoice": "keys",
    "EssCertId": "cms",
    "ID_AA_TIMESTAMP_TOKEN": "cms",
    "ID_CT_TST_INFO": "cms",
    "ID_DATA": "cms",
    "ID_SIGNED_DATA": "cms",
    "OCSPCertID": "revocation",
    "OCSPRequestInfo": "revocation",
    "OCSPSingleAnswer": "revocation",
    "ParsedSignedData": "cms",
    "ParsedSignerInfo": "cms",
    "Pbes2Parameters": "keys",
    "QC_COMPLIANCE": "qc",
    "QC_PDS": "qc",
    "QC_SSCD": "qc",
    "QC_SYNTAX_V2": "qc",
    "QC_TYPE": "qc",
    "QcStatementInfo": "qc",
    "SignerTemplate": "cms_template",
    "TimestampRequest": "tsp",
    "TimestampResponse": "tsp",
    "TstInfo": "tsp",
    "_element": "_der",
    "add_signer_info": "cms",
    "add_unsigned_attribute": "cms",
    "assemble_crl": "revocation",
    "certificate_ec_parameters": "keys",
    "certificate_encoding": "certificate",
    "crl_tbs_with_entries": "revocation",
    "csr_ec_parameters": "keys",
    "curve_encoding_problem": "keys",
    "decode_policy_mappings": "certificate",
    "decode_qc_statements": "qc",
    "ec_parameters_block_choice": "keys",
    "encode_pbes2_private_key_info": "keys",
    "encode_qc_statements": "qc",
    "encode_revoked_entry": "revocation",
    "encode_signed_attributes": "cms",
    "encode_signed_data": "cms",
    "encode_signer_info": "cms",
    "encode_timestamp_request": "tsp",
    "encode_timestamp_response": "tsp",
    "encode_tst_info": "tsp",
    "ocsp_response_data": "revocation",
    "ocsp_signature_algorithm": "revocation",
    "ocsp_successful_response": "revocation",
    "parse_ocsp_request": "revocation",
    "parse_signed_data": "cms",
    "parse_timestamp_request": "tsp",
    "parse_timestamp_response": "tsp",
    "parse_tst_info": "tsp",
    "pbes2_parameters": "keys",
    "private_key_ec_parameters": "keys",
    "public_key_info_ec_parameters": "keys",
    "signed_attributes_from_template": "cms_template",
    "signed_data_from_template": "cms_template",
    "signer_template": "cms_template",
}
"""The module of each name. A name is imported on first use, and only its module with it:
reading a certificate's or a key's curve encoding walks DER headers and loads no
asn1crypto, so commands that never decode CMS or OCSP start without it (PEP 562)."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


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
