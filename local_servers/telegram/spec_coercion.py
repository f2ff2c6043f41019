"""Values coerced and checked as Telegram coerces them, type by type.

Form fields arrive as strings ("123" for an Integer, "true" for a Boolean) and
objects as JSON text, which is decoded and validated field by field. Union
types accept any member; the error reported is the most specific one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from local_servers.telegram.spec_model import (
    FieldSpec,
    Mismatch,
    SpecError,
    TypeSpec,
    UploadedFile,
    describe,
)
from local_servers.telegram.spec_rules import TYPE_RULES, check_rules

_PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String"})
_INTEGER = re.compile(r"[+-]?\d+")


class Checker:
    """One validation pass: tracks which uploaded parts were referenced."""

    def __init__(self, types: Mapping[str, TypeSpec], files: Mapping[str, UploadedFile]) -> None:
        self.types = types
        self.files = files
        self.used: set[str] = set()

    def value(self, value: Any, types: tuple[str, ...], path: str, *, top_level: bool) -> Any:
        """``value`` coerced to the first of ``types`` it fits; else the most specific error."""
        errors: list[SpecError] = []
        if (
            top_level
            and isinstance(value, str)
            and not any(t in _PRIMITIVES or t == "InputFile" for t in types)
        ):
            # Form fields carry objects and arrays as JSON text; nested values are never
            # decoded a second time.
            value = self._json(value, path)
        candidates = types
        if "InputFile" in types and isinstance(value, str) and value.startswith("attach://"):
            candidates = ("InputFile",)  # an attach:// reference is never a file_id
        elif isinstance(value, dict) and len(types) > 1:
            candidates = self._discriminate(value, types)
        for type_expr in candidates:
            try:
                return self._one(value, type_expr, path)
            except SpecError as exc:
                errors.append(exc)
        if len(errors) == 1 or not all(isinstance(e, Mismatch) for e in errors):
            # A member that fits but breaks a rule explains the failure best.
            specific = [e for e in errors if not isinstance(e, Mismatch)] or errors
            raise max(specific, key=lambda e: e.depth)
        deepest = max(errors, key=lambda e: e.depth)
        if deepest.depth > path.count(".") + path.count("[") + 1:
            raise deepest
        raise Mismatch(
            f"Bad Request: can't parse {path}: expected {' or '.join(types)}",
            field=path,
            reason=f"{describe(value)} is not {' or '.join(types)}",
        )

    def _discriminate(self, value: Mapping[str, Any], types: tuple[str, ...]) -> tuple[str, ...]:
        """Object members whose fixed ``type`` field (if any) matches, best field overlap first."""

        def expand(type_expr: str) -> list[str]:
            spec = self.types.get(type_expr)
            if spec is None or not spec.subtypes:
                return [type_expr]
            return [leaf for sub in spec.subtypes for leaf in expand(sub)]

        leaves = [leaf for t in types for leaf in expand(t)]
        objects = [t for t in leaves if t in self.types]
        matching = [
            t
            for t in objects
            if any(
                f.const is not None and value.get(f.name) == f.const
                for f in self.types[t].fields.values()
            )
        ]
        pool = matching or objects or leaves
        return (
            tuple(sorted(pool, key=lambda t: -len(set(value) & set(self._fields_of(t))))) or types
        )

    def _fields_of(self, type_expr: str) -> Mapping[str, FieldSpec]:
        spec = self.types.get(type_expr)
        return spec.fields if spec is not None else {}

    def _json(self, value: str, path: str) -> Any:
        try:
            return json.loads(value)
        except ValueError:
            raise Mismatch(
                f"Bad Request: can't parse {path} JSON object",
                field=path,
                reason=f"{describe(value)} is not valid JSON",
            ) from None

    def _one(self, value: Any, type_expr: str, path: str) -> Any:
        if type_expr.startswith("Array of "):
            inner = type_expr.removeprefix("Array of ")
            if not isinstance(value, list):
                raise Mismatch(
                    f"Bad Request: can't parse {path}: expected an array",
                    field=path,
                    reason=f"{describe(value)} is not {type_expr}",
                )
            return [
                self.value(item, (inner,), f"{path}[{i}]", top_level=False)
                for i, item in enumerate(value)
            ]
        if type_expr in _PRIMITIVES:
            return _primitive(value, type_expr, path)
        if type_expr == "InputFile":
            return self._input_file(value, path)
        spec = self.types.get(type_expr)
        if spec is None:
            raise Mismatch(
                f"Bad Request: can't parse {path}", field=path, reason=f"unknown type {type_expr}"
            )
        if spec.subtypes:
            return self.value(value, spec.subtypes, path, top_level=False)
        if not isinstance(value, dict):
            raise Mismatch(
                f"Bad Request: can't parse {path}: expected {type_expr} object",
                field=path,
                reason=f"{describe(value)} is not a {type_expr} object",
            )
        return self._object(spec, value, path)

    def _input_file(self, value: Any, path: str) -> Any:
        if isinstance(value, UploadedFile):
            return value
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            if name in self.files:
                self.used.add(name)
                return self.files[name]
            raise SpecError(
                f"Bad Request: file {name!r} must be uploaded as multipart/form-data",
                field=path,
                reason=f"{value} names no uploaded part",
            )
        raise Mismatch(
            f"Bad Request: {path} must be an uploaded file",
            field=path,
            reason=f"{describe(value)} is not an uploaded file",
        )

    def _object(self, spec: TypeSpec, value: Mapping[str, Any], path: str) -> dict[str, Any]:
        for key in value:
            if key not in spec.fields:
                raise Mismatch(
                    f"Bad Request: can't parse {spec.name}: unknown field {key!r}",
                    field=f"{path}.{key}",
                    reason=f"{spec.name} has no field {key!r}",
                )
        result: dict[str, Any] = {}
        for name, field in spec.fields.items():
            if name not in value or value[name] is None:
                if field.required:
                    raise Mismatch(
                        f"Bad Request: can't parse {spec.name}: field {name!r} is required",
                        field=f"{path}.{name}",
                        reason=f"required field {name!r} of {spec.name} is missing",
                    )
                continue
            coerced = self.value(value[name], field.types, f"{path}.{name}", top_level=False)
            if field.const is not None and coerced != field.const:
                raise Mismatch(
                    f"Bad Request: can't parse {spec.name}: {name} must be {field.const!r}",
                    field=f"{path}.{name}",
                    reason=f"{spec.name}.{name} is {describe(coerced)}, not {field.const!r}",
                )
            result[name] = coerced
        for name, field in spec.fields.items():
            if name in result:
                check_rules(spec.name, field, result, f"{path}.{name}", method_level=False)
        extra = TYPE_RULES.get(spec.name)
        if extra is not None:
            extra(result, path)
        return result


def _primitive(value: Any, type_expr: str, path: str) -> Any:
    """Coerce a scalar as the Bot API does: form strings to numbers and booleans."""
    if type_expr == "String":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    elif type_expr == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
    elif type_expr == "Float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif type_expr == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
    raise Mismatch(
        f"Bad Request: can't parse {path}: expected {type_expr}",
        field=path,
        reason=f"{describe(value)} is not {type_expr}",
    )
