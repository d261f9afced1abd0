"""Error messages in the user's words: the object, the field, the rule.

A :class:`~trustkit.errors.TrustkitError` raised while decoding often carries
the parser's own sentence beside trustkit's (``not a valid X.509 certificate
(error parsing asn1 value: ParseError { kind: ShortData { needed: 359 } })``,
``Error parsing asn1crypto.cms.ContentType - tag should have been 6 ...``).
That text is kept for ``--debug``; the default message says the same thing
the way a person reads it: what is wrong with the DER (truncated, a length
that does not fit, an unexpected field) and, where the parser named it, the
field it was reading.
"""

from __future__ import annotations

import re

__all__ = ["user_message"]

# cryptography's Rust parser (rust-asn1): "error parsing asn1 value: ParseError { kind:
# ShortData { needed: 359 }, location: ["Certificate::tbs_cert", ...] }".
_RUST_PARSE_ERROR = "error parsing asn1 value: ParseError {"
_RUST_KIND = re.compile(r"kind: (\w+)")
_RUST_LOCATION = re.compile(r"location: \[(?P<items>[^\]]*)\]")
_RUST_NEEDED = re.compile(r"needed: (\d+)")
_RUST_KINDS = {
    "ShortData": "truncated",
    "InvalidLength": "a length that does not fit its contents",
    "UnexpectedTag": "an unexpected field",
    "ExtraData": "trailing data after the end",
    "InvalidValue": "a value that breaks its type's encoding",
    "InvalidTag": "a malformed tag",
    "IntegerOverflow": "a number too large",
    "InvalidSetOrdering": "a SET OF not in DER order",
    "EncodedDefault": "a DEFAULT value encoded (DER forbids it)",
    "OidTooLong": "an object identifier too long",
    "UnknownDefinedBy": "an unknown algorithm or type identifier",
}

# asn1crypto: "Error parsing asn1crypto.cms.ContentType - tag should have been 6, but 17
# was found while parsing asn1crypto.cms.ContentInfo", "Insufficient data - 97 bytes
# requested but only 5 available", "Extra data - 3 bytes of trailing data were provided".
_ASN1CRYPTO_TYPE = re.compile(
    r"Error parsing asn1crypto\.[\w.]*?\.(?P<type>\w+) - (?P<what>.*?)"
    r"(?: while parsing asn1crypto\.[\w.]+)*$",
    re.DOTALL,
)
_ASN1CRYPTO_WHILE = re.compile(r" while parsing asn1crypto\.[\w.]+")
_INSUFFICIENT = re.compile(
    r"Insufficient data - (\d+) bytes? requested but only (\d+) (?:is |are )?available"
)
_EXTRA = re.compile(r"Extra data - (\d+) bytes? of trailing data were provided")
_SHOULD_HAVE_BEEN = re.compile(r"(tag|class|method) should have been \w+, but \w+ was found")

_REPEATED_PREFIX = re.compile(r"\b(?P<word>[\w#-]+(?: [\w#-]+)?): (?P=word): ")


def _field_of(location: str) -> str | None:
    """The innermost named field of a rust-asn1 location (``TbsCertificate::serial`` -> serial)."""
    names = re.findall(r'"\w+::(\w+)"', location)
    return names[-1] if names else None


def _rust_words(inner: str) -> str:
    kind_match = _RUST_KIND.search(inner)
    kind = kind_match.group(1) if kind_match else ""
    words = _RUST_KINDS.get(kind, "malformed")
    needed = _RUST_NEEDED.search(inner)
    if kind == "ShortData" and needed:
        words = f"truncated, {needed.group(1)} more bytes expected"
    location = _RUST_LOCATION.search(inner)
    field = _field_of(location.group("items")) if location else None
    return f"DER: {words}{f' in {field}' if field else ''}"


def _rust(text: str) -> str:
    """Each ``(error parsing asn1 value: ParseError { ... })`` replaced, braces balanced."""
    while (start := text.find(_RUST_PARSE_ERROR)) >= 0:
        depth, end = 0, len(text)
        for i in range(start + len(_RUST_PARSE_ERROR) - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                end = i + 1
                break
        text = text[:start] + _rust_words(text[start:end]) + text[end:]
    return text


def _asn1crypto(text: str) -> str:
    text = _INSUFFICIENT.sub(
        lambda m: f"truncated, {m.group(1)} bytes expected and {m.group(2)} present", text
    )
    text = _EXTRA.sub(lambda m: f"{m.group(1)} bytes of trailing data", text)

    def typed(match: re.Match[str]) -> str:
        what = match.group("what")
        if _SHOULD_HAVE_BEEN.search(what):
            what = "an unexpected field"
        return f"DER: {what} in {match.group('type')}"

    text = _ASN1CRYPTO_TYPE.sub(typed, text)
    return _ASN1CRYPTO_WHILE.sub("", text)


def user_message(message: str) -> str:
    """``message`` on one line, with parser internals put in plain words and a
    repeated prefix (``signature: signature: ...``) said once."""
    text = " ".join(message.split())
    text = _rust(text)
    text = _asn1crypto(text)
    previous = None
    while previous != text:
        previous = text
        text = _REPEATED_PREFIX.sub(lambda m: f"{m.group('word')}: ", text)
    return text
