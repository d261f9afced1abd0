"""RFC 7512 ``pkcs11:`` URIs: parsing, and the text a configuration stores."""

from __future__ import annotations

import enum
import os
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_to_bytes

from ..errors import InputError
from ._config import ENV_PIN

if TYPE_CHECKING:
    pass


_SCHEME = "pkcs11:"
_RFC = "RFC 7512 section 2.3"
# pk11-pchar / pk11-qchar (RFC 7512 section 2.3): unreserved, a few reserved
# characters, and percent-encoded octets. Everything else must be encoded.
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_P_RES_AVAIL = ":[]@!$'()*+,="
_PATH_SAFE = _P_RES_AVAIL + "&"
_QUERY_SAFE = _P_RES_AVAIL + "/?|"
_PATH_CHARS = _UNRESERVED | frozenset(_PATH_SAFE)
_QUERY_CHARS = _UNRESERVED | frozenset(_QUERY_SAFE)
_HEX = frozenset(string.hexdigits)
_VENDOR_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "-_")

# URI attribute name -> dataclass field, in the order RFC 7512 lists them.
_PATH_ATTRIBUTES = {
    "token": "token",
    "manufacturer": "manufacturer",
    "serial": "serial",
    "model": "model",
    "library-manufacturer": "library_manufacturer",
    "library-description": "library_description",
    "library-version": "library_version",
    "object": "object",
    "type": "type",
    "id": "id",
    "slot-description": "slot_description",
    "slot-manufacturer": "slot_manufacturer",
    "slot-id": "slot_id",
}
_QUERY_ATTRIBUTES = {
    "pin-source": "pin_source",
    "pin-value": "pin_value",
    "module-name": "module_name",
    "module-path": "module_path",
}
_MAX_SLOT_ID = 2**64 - 1  # CK_SLOT_ID is a CK_ULONG


class ObjectType(enum.Enum):
    """The ``type=`` of an RFC 7512 URI: which class of PKCS#11 object is meant."""

    PUBLIC = "public"
    PRIVATE = "private"
    CERT = "cert"
    SECRET_KEY = "secret-key"
    DATA = "data"


@dataclass(frozen=True)
class PKCS11URI:
    """An RFC 7512 ``pkcs11:`` URI, parsed; ``None`` is an attribute the URI leaves out.

    Build one with :func:`parse_pkcs11_uri`; ``str()`` gives the URI back in
    canonical form (attributes in RFC order, ``id`` percent-encoded), but
    never with the ``pin-value``, so a URI can be logged or saved safely.
    """

    token: str | None = None
    """``token=``: the token label (``CK_TOKEN_INFO.label``)."""
    manufacturer: str | None = None
    """``manufacturer=``: the token manufacturer."""
    serial: str | None = None
    """``serial=``: the token serial number."""
    model: str | None = None
    """``model=``: the token model."""
    library_manufacturer: str | None = None
    """``library-manufacturer=``: the module's manufacturer (``CK_INFO``)."""
    library_description: str | None = None
    """``library-description=``: the module's description."""
    library_version: str | None = None
    """``library-version=``: ``major`` or ``major.minor`` of the module."""
    object: str | None = None
    """``object=``: the object label (``CKA_LABEL``)."""
    type: ObjectType | None = None
    """``type=``: the object class."""
    id: bytes | None = None
    """``id=``: the object identifier (``CKA_ID``), raw bytes."""
    slot_description: str | None = None
    """``slot-description=``: the slot description."""
    slot_manufacturer: str | None = None
    """``slot-manufacturer=``: the slot manufacturer."""
    slot_id: int | None = None
    """``slot-id=``: the slot number."""
    module_name: str | None = None
    """``?module-name=``: the module's name without path or suffix (informative here)."""
    module_path: str | None = None
    """``?module-path=``: absolute path of the PKCS#11 module."""
    pin_source: str | None = None
    """``?pin-source=``: where the application may find the PIN (informative here)."""
    pin_value: str | None = field(default=None, repr=False)
    """``?pin-value=``: the PIN itself; only set when the parser was allowed to accept it."""
    vendor_path: tuple[tuple[str, str], ...] = ()
    """Vendor path attributes (``x-...``), name and value as written (still percent-encoded)."""
    vendor_query: tuple[tuple[str, str], ...] = ()
    """Vendor query attributes (``x-...``), name and value as written."""

    def __str__(self) -> str:
        path: list[str] = []
        for name, attr in _PATH_ATTRIBUTES.items():
            value = getattr(self, attr)
            if value is None:
                continue
            if isinstance(value, bytes):
                # RFC 7512 section 2.3: "id" should be fully percent-encoded.
                text = "".join(f"%{octet:02X}" for octet in value)
            elif isinstance(value, ObjectType):
                text = value.value
            else:
                text = quote(str(value), safe=_PATH_SAFE)
            path.append(f"{name}={text}")
        path.extend(f"{name}={value}" for name, value in self.vendor_path)
        query: list[str] = []
        for name, attr in _QUERY_ATTRIBUTES.items():
            value = getattr(self, attr)
            if value is None or attr == "pin_value":
                continue
            query.append(f"{name}={quote(value, safe=_QUERY_SAFE)}")
        query.extend(f"{name}={value}" for name, value in self.vendor_query)
        return _SCHEME + ";".join(path) + ("?" + "&".join(query) if query else "")

    def key_label(self) -> str:
        """A short description of the object for messages: ``object=root-2026;id=%01``."""
        parts = []
        if self.object is not None:
            parts.append(f"object={quote(self.object, safe=_PATH_SAFE)}")
        if self.id is not None:
            parts.append("id=" + "".join(f"%{octet:02X}" for octet in self.id))
        return ";".join(parts) or "(any object)"


def is_pkcs11_uri(text: str) -> bool:
    """Whether ``text`` is meant as a PKCS#11 URI (starts with ``pkcs11:``, any case)."""
    return text[: len(_SCHEME)].lower() == _SCHEME


def parse_pkcs11_uri(text: str, *, allow_pin_value: bool = False) -> PKCS11URI:
    """Parse an RFC 7512 ``pkcs11:`` URI.

    Unknown standard attributes, an attribute given twice, characters that
    should have been percent-encoded, a malformed percent escape, text
    attributes that are not UTF-8 and a relative ``module-path`` are all
    :class:`~trustkit.errors.InputError`, naming the attribute.
    ``pin-value`` is refused unless ``allow_pin_value`` is true: a PIN comes
    from a prompt, a PIN file or ``$TRUSTKIT_PKCS11_PIN``.
    """
    if not isinstance(text, str):
        raise TypeError(f"pkcs11 URI: expected str, got {type(text).__name__}")
    if not is_pkcs11_uri(text):
        raise InputError(f"pkcs11 URI {text[:40]!r}: must start with 'pkcs11:' ({_RFC})")
    rest = text[len(_SCHEME) :]
    path, has_query, query = rest.partition("?")
    values: dict[str, object] = {}
    vendor_path: list[tuple[str, str]] = []
    vendor_query: list[tuple[str, str]] = []
    for component in path.split(";") if path else ():
        name, raw = _split_attribute(component, "path")
        if name.startswith("x-"):
            _check_vendor(name, raw, _PATH_CHARS)
            vendor_path.append((name, raw))
            continue
        attr = _PATH_ATTRIBUTES.get(name)
        if attr is None:
            where = " (it belongs in the query, after '?')" if name in _QUERY_ATTRIBUTES else ""
            raise InputError(f"{name}: not a PKCS#11 URI path attribute{where} ({_RFC})")
        _store(values, name, attr, _path_value(name, _decode(name, raw, _PATH_CHARS)))
    for component in query.split("&") if has_query and query else ():
        name, raw = _split_attribute(component, "query")
        if name.startswith("x-"):
            _check_vendor(name, raw, _QUERY_CHARS)
            vendor_query.append((name, raw))
            continue
        attr = _QUERY_ATTRIBUTES.get(name)
        if attr is None:
            where = " (it belongs in the path, before '?')" if name in _PATH_ATTRIBUTES else ""
            raise InputError(f"{name}: not a PKCS#11 URI query attribute{where} ({_RFC})")
        value = _text(name, _decode(name, raw, _QUERY_CHARS))
        if name == "pin-value" and not allow_pin_value:
            raise InputError(
                "pin-value: a PIN inside the URI is refused; give it at the prompt, "
                f"with --pin-file or in ${ENV_PIN}"
            )
        if name == "module-path" and (not os.path.isabs(value) or "\x00" in value):
            raise InputError(f"module-path: {value!r} must be an absolute path ({_RFC})")
        _store(values, name, attr, value)
    return PKCS11URI(
        **values,  # type: ignore[arg-type]  # keys are the field names of _*_ATTRIBUTES
        vendor_path=tuple(vendor_path),
        vendor_query=tuple(vendor_query),
    )


def _split_attribute(component: str, where: str) -> tuple[str, str]:
    name, equals, raw = component.partition("=")
    if not equals or not name:
        shown = component[:40]
        raise InputError(f"pkcs11 URI {where}: {shown!r} is not an attribute=value pair ({_RFC})")
    return name, raw


def _check_vendor(name: str, raw: str, allowed: frozenset[str]) -> None:
    if len(name) < 3 or not set(name[2:]) <= _VENDOR_NAME_CHARS:
        raise InputError(f"{name[:40]}: not a valid vendor attribute name ({_RFC})")
    _decode(name, raw, allowed)


def _store(values: dict[str, object], name: str, attr: str, value: object) -> None:
    if attr in values:
        raise InputError(f"{name}: given more than once ({_RFC})")
    values[attr] = value


def _decode(name: str, raw: str, allowed: frozenset[str]) -> bytes:
    """The octets of a percent-encoded attribute value, checked character by character."""
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "%":
            escape = raw[index + 1 : index + 3]
            if len(escape) != 2 or not set(escape) <= _HEX:
                raise InputError(f"{name}: '%' must be followed by two hex digits ({_RFC})")
            index += 3
            continue
        if char not in allowed:
            raise InputError(f"{name}: character {char!r} must be percent-encoded ({_RFC})")
        index += 1
    return unquote_to_bytes(raw)


def _text(name: str, octets: bytes) -> str:
    try:
        return octets.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: value is not UTF-8 ({_RFC})") from exc


def _path_value(name: str, octets: bytes) -> object:
    if name == "id":
        return octets
    text = _text(name, octets)
    if name == "type":
        try:
            return ObjectType(text)
        except ValueError:
            allowed = ", ".join(member.value for member in ObjectType)
            raise InputError(f"type: {text!r} is not one of {allowed} ({_RFC})") from None
    if name == "slot-id":
        if not text or not text.isascii() or not text.isdigit() or int(text) > _MAX_SLOT_ID:
            raise InputError(f"slot-id: {text!r} is not a decimal slot number ({_RFC})")
        return int(text)
    if name == "library-version":
        major, dot, minor = text.partition(".")
        if not _is_digits(major) or (dot and not _is_digits(minor)):
            raise InputError(f"library-version: {text!r} is not 'major[.minor]' ({_RFC})")
    return text


def _is_digits(text: str) -> bool:
    return bool(text) and text.isascii() and text.isdigit()


def _coerce_uri(uri: PKCS11URI | str) -> PKCS11URI:
    return uri if isinstance(uri, PKCS11URI) else parse_pkcs11_uri(uri)
