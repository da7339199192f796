"""Descriptions of the Go types that json_decode decodes into (go-swagger v0.23 models).

A GoStruct is what `reflect` would tell encoding/json about a model: its fields, their JSON
names and Go types. `name` fields hold exactly what Go prints in an UnmarshalTypeError
(`reflect.Type.String()`), e.g. "[]*models.AttachmentRequest".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GoKind = Literal["string", "int64", "float32", "datetime", "enum", "slice", "struct"]


@dataclass(frozen=True, slots=True)
class GoType:
    """One Go type.

    kind "datetime" is strfmt.DateTime: its UnmarshalJSON decodes into a Go string first, so a
    type error names "string"; `name` is still the model's type text from the contract table.
    nullable: True = Go pointer (JSON null resets it), False = value (null is a no-op),
    None = unknown (go-swagger may or may not generate a pointer): decoded as a pointer, and
    json_decode reports it in DecodeResult.ambiguous whenever the two readings differ.
    """

    kind: GoKind
    name: str
    nullable: bool | None = False
    elem: GoType | None = None  # kind "slice": the element type
    struct: GoStruct | None = None  # kind "struct": the struct (a slice element is a pointer: nullable=True)


@dataclass(frozen=True, slots=True)
class GoField:
    """A struct field as encoding/json sees it: its JSON name (tag) and its Go type."""

    json_name: str
    type: GoType


@dataclass(frozen=True, slots=True)
class GoStruct:
    """A Go struct type: `name` as reflect.Type.Name() ("AssignmentRequest"), `go_name` as
    reflect.Type.String() ("models.AssignmentRequest"); fields in declaration order."""

    name: str
    go_name: str
    fields: tuple[GoField, ...]
