"""``/openapi/v2`` in protobuf, the form kubectl downloads to validate manifests client-side.

kubectl (``apply --dry-run=client``, ``create --validate``) asks for
``application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` and decodes gnostic's
``openapi.v2.Document`` message. Only the parts validation reads are encoded: the definitions
(schemas with their types, fields, enums, bounds and ``x-kubernetes-*`` extensions). Field
numbers are those of gnostic's ``openapiv2/OpenAPIv2.proto``; the wire format is protobuf's
(varints and length-delimited fields), written out here so no generated code is needed.
"""

from __future__ import annotations

import struct
from typing import Any

import yaml

# What the API server answers with (the "@" of the requested type is not a valid MIME type).
PROTOBUF_MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

# openapi.v2.Schema fields we write: (json key, field number, kind)
_SCHEMA_SCALARS = (
    ("format", 2, "string"),
    ("description", 4, "string"),
    ("maximum", 7, "double"),
    ("minimum", 9, "double"),
    ("maxLength", 11, "varint"),
    ("minLength", 12, "varint"),
    ("pattern", 13, "string"),
    ("maxItems", 14, "varint"),
    ("minItems", 15, "varint"),
)


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings and messages)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, text: str) -> bytes:
    return _field(number, text.encode())


def _any(value: Any) -> bytes:
    """openapi.v2.Any: the value as YAML text (field 2)."""
    return _string(2, yaml.safe_dump(value, default_flow_style=True).strip())


def _named_any(name: str, value: Any) -> bytes:
    return _string(1, name) + _field(2, _any(value))


def schema_message(schema: dict[str, Any]) -> bytes:
    """One openapi.v2.Schema message."""
    out = bytearray()
    for key, number, kind in _SCHEMA_SCALARS:
        if key not in schema:
            continue
        value = schema[key]
        if kind == "string":
            out += _string(number, str(value))
        elif kind == "double":
            out += _varint(number << 3 | 1) + struct.pack("<d", float(value))
        else:
            out += _varint(number << 3) + _varint(int(value))
    for name in schema.get("required", []):
        out += _string(19, name)
    for value in schema.get("enum", []):
        out += _field(20, _any(value))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out += _field(21, _field(1, schema_message(extra)))
    if "type" in schema:
        out += _field(22, _string(1, schema["type"]))
    if "items" in schema:
        out += _field(23, _field(1, schema_message(schema["items"])))
    if "properties" in schema:
        named = b"".join(
            _field(1, _string(1, name) + _field(2, schema_message(child)))
            for name, child in schema["properties"].items()
        )
        out += _field(25, named)
    for key, value in schema.items():
        if key.startswith("x-"):
            out += _field(31, _named_any(key, value))
    return bytes(out)


def document_message(document: dict[str, Any]) -> bytes:
    """An openapi.v2.Document with swagger, info and definitions."""
    info = document.get("info", {})
    definitions = b"".join(
        _field(1, _string(1, name) + _field(2, schema_message(schema)))
        for name, schema in document.get("definitions", {}).items()
    )
    return (
        _string(1, document.get("swagger", "2.0"))
        + _field(2, _string(1, info.get("title", "")) + _string(2, info.get("version", "")))
        + _field(9, definitions)
    )
