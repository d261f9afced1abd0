"""The time-stamp protocol (RFC 3161): requests, TSTInfo, responses."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from asn1crypto import cms as _cms
from asn1crypto import core
from asn1crypto import tsp as _tsp
from asn1crypto import x509 as _x509

from ..errors import DecodeError
from .cms import _CMS_ERRORS, _version


@dataclass(frozen=True)
class TimestampRequest:
    """A TimeStampReq (RFC 3161 2.4.1), decoded into plain values."""

    version: int
    hash_algorithm: str
    """asn1crypto's name of the hash (``sha256``), or the dotted OID when unknown."""
    hashed_message: bytes
    policy: str | None
    """reqPolicy, dotted."""
    nonce: int | None
    cert_req: bool
    extensions: tuple[str, ...]
    """OIDs of the request's extensions, dotted."""


@dataclass(frozen=True)
class TstInfo:
    """A TSTInfo (RFC 3161 2.4.2), decoded into plain values."""

    version: int
    policy: str
    hash_algorithm: str
    hashed_message: bytes
    serial_number: int
    gen_time: _dt.datetime
    accuracy: _dt.timedelta | None
    ordering: bool
    nonce: int | None
    tsa: bytes | None
    """The tsa field's directory name, Name DER, when it is one."""


@dataclass(frozen=True)
class TimestampResponse:
    """A TimeStampResp (RFC 3161 2.4.2), decoded into plain values."""

    status: int
    """PKIStatus: 0 granted, 1 grantedWithMods, 2 rejection, ..."""
    status_text: tuple[str, ...]
    failure_info: tuple[str, ...]
    """PKIFailureInfo bits set, by asn1crypto's names (``bad_alg``, ``bad_request``, ...)."""
    token: bytes | None
    """The TimeStampToken, a ContentInfo DER, when one was granted."""


def encode_timestamp_request(
    *,
    hash_algorithm: str,
    hashed_message: bytes,
    nonce: int | None,
    policy: str | None = None,
    cert_req: bool = True,
) -> bytes:
    """DER of a TimeStampReq, version 1 (RFC 3161 2.4.1)."""
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_algorithm},
            "hashed_message": hashed_message,
        },
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    return bytes(_tsp.TimeStampReq(fields).dump())


def parse_timestamp_request(der: bytes) -> TimestampRequest:
    """Decode a TimeStampReq; :class:`DecodeError` when it is not one (RFC 3161 2.4.1)."""
    try:
        request = _tsp.TimeStampReq.load(der, strict=True)
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"]
        extensions = request["extensions"]
        return TimestampRequest(
            version=_version(request["version"].native),
            hash_algorithm=algorithm.native,
            hashed_message=bytes(imprint["hashed_message"].native),
            policy=request["req_policy"].dotted if request["req_policy"].native else None,
            nonce=request["nonce"].native,
            cert_req=bool(request["cert_req"].native),
            extensions=tuple(e["extn_id"].dotted for e in extensions) if extensions.native else (),
        )
    except _CMS_ERRORS as exc:
        raise DecodeError(
            f"timestamp request: malformed TimeStampReq (RFC 3161 2.4.1): {exc}"
        ) from exc


def encode_tst_info(
    *,
    policy: str,
    hash_algorithm: str,
    hashed_message: bytes,
    serial_number: int,
    gen_time: _dt.datetime,
    accuracy: _dt.timedelta | None,
    nonce: int | None,
    tsa: bytes | None,
) -> bytes:
    """DER of a TSTInfo (RFC 3161 2.4.2); ``tsa`` is the TSA's subject Name DER."""
    fields: dict[str, object] = {
        "version": "v1",
        "policy": policy,
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_algorithm},
            "hashed_message": hashed_message,
        },
        "serial_number": serial_number,
        "gen_time": gen_time,
    }
    if accuracy is not None:
        seconds = int(accuracy.total_seconds())
        micros = accuracy.microseconds
        value: dict[str, int] = {}
        if seconds:
            value["seconds"] = seconds
        if micros // 1000:
            value["millis"] = micros // 1000
        if micros % 1000:
            value["micros"] = micros % 1000
        fields["accuracy"] = value
    if nonce is not None:
        fields["nonce"] = nonce
    if tsa is not None:
        fields["tsa"] = _x509.GeneralName({"directory_name": _x509.Name.load(tsa)})
    return bytes(_tsp.TSTInfo(fields).dump())


def parse_tst_info(der: bytes) -> TstInfo:
    """Decode a TSTInfo; :class:`DecodeError` when it is not one (RFC 3161 2.4.2)."""
    try:
        info = _tsp.TSTInfo.load(der, strict=True)
        accuracy = None
        if info["accuracy"].native is not None:
            acc = info["accuracy"].native
            accuracy = _dt.timedelta(
                seconds=acc.get("seconds") or 0,
                milliseconds=acc.get("millis") or 0,
                microseconds=acc.get("micros") or 0,
            )
        tsa = None
        if info["tsa"].native is not None and info["tsa"].name == "directory_name":
            tsa = info["tsa"].chosen.untag().dump()
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"]
        gen_time = info["gen_time"].native
        if not isinstance(gen_time, _dt.datetime):
            raise ValueError("genTime is not a time")
        return TstInfo(
            version=_version(info["version"].native),
            policy=info["policy"].dotted,
            hash_algorithm=algorithm.native,
            hashed_message=bytes(imprint["hashed_message"].native),
            serial_number=int(info["serial_number"].native),
            gen_time=gen_time,
            accuracy=accuracy,
            ordering=bool(info["ordering"].native),
            nonce=info["nonce"].native,
            tsa=tsa,
        )
    except _CMS_ERRORS as exc:
        raise DecodeError(f"timestamp token: malformed TSTInfo (RFC 3161 2.4.2): {exc}") from exc


class _TimeStampResp(core.Sequence):
    """TimeStampResp (RFC 3161 2.4.2); asn1crypto's own makes the OPTIONAL token required."""

    _fields = [
        ("status", _tsp.PKIStatusInfo),
        ("time_stamp_token", _cms.ContentInfo, {"optional": True}),
    ]


def encode_timestamp_response(
    *,
    status: int,
    token: bytes | None = None,
    failure: str | None = None,
    text: str | None = None,
) -> bytes:
    """DER of a TimeStampResp (RFC 3161 2.4.2): a granted token, or a rejection whose
    PKIFailureInfo has the bit ``failure`` (asn1crypto's name, ``bad_alg``...) set."""
    status_info: dict[str, object] = {"status": status}
    if text is not None:
        status_info["status_string"] = [text]
    if failure is not None:
        status_info["fail_info"] = {failure}
    fields: dict[str, object] = {"status": status_info}
    if token is not None:
        fields["time_stamp_token"] = _cms.ContentInfo.load(token)
    return bytes(_TimeStampResp(fields).dump())


def parse_timestamp_response(der: bytes) -> TimestampResponse:
    """Decode a TimeStampResp; :class:`DecodeError` when it is not one (RFC 3161 2.4.2)."""
    try:
        response = _TimeStampResp.load(der, strict=True)
        status = response["status"]
        status_code = status["status"].native
        code = {v: k for k, v in _tsp.PKIStatus._map.items()}.get(status_code, status_code)
        texts = tuple(status["status_string"].native or ())
        fail = status["fail_info"].native
        token = response["time_stamp_token"]
        return TimestampResponse(
            status=int(code),
            status_text=tuple(str(t) for t in texts),
            failure_info=tuple(sorted(fail)) if fail else (),
            # An absent token is asn1crypto's Void; .native would decode a whole
            # present token just to learn that it is there.
            token=None if isinstance(token, core.Void) else token.dump(),
        )
    except _CMS_ERRORS as exc:
        raise DecodeError(
            f"timestamp reply: malformed TimeStampResp (RFC 3161 2.4.2): {exc}"
        ) from exc
