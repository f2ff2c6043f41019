"""Generate the compact Bot API schema the local Bot API server validates requests against.

``python tools/gen_bot_api_schema.py`` reads the scraped Telegram Bot API
specification (:data:`SPEC_PATH`: ``telegram-bot-api/api.json`` in the shared
directory beside the checkout, see its ``SOURCE.md``) and writes
``local_servers/telegram/bot_api_schema.json``; ``--check`` exits 1 when the committed
file differs from what the specification gives now.

The output keeps only what validation needs, per method and per type::

    {"version": ..., "release_date": ...,
     "methods": {name: {"returns": [...], "fields": {field: SPEC}}},
     "types": {name: {"fields": {field: SPEC}} or {"subtypes": [...]}}}

where ``SPEC`` is ``{"types": [...], "required": bool}`` plus, when the
specification's prose states them:

* ``"length": [min, max, "characters" | "bytes"]`` from "1-4096 characters";
* ``"parse_mode": sibling`` when the length counts after entity parsing with
  the named sibling parse-mode field ("text" -> "parse_mode",
  "quote" -> "quote_parse_mode");
* ``"const": value`` for a subtype's discriminator ("Scope type, must be chat",
  'Type of the reaction, always "emoji"').

The file is written with sorted keys and one field per line, so that a new
Bot API release shows as a readable diff.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT.parent / "shared" / "telegram-bot-api" / "api.json"
OUTPUT_PATH = ROOT / "local_servers" / "telegram" / "bot_api_schema.json"

_LENGTH = re.compile(r"\b(\d+)-(\d+) (characters|bytes)\b")
_CONST = re.compile(r"(?:must be|always) \"?([a-z0-9_]+)\"?\s*$")
#: Text fields whose length Telegram counts after parsing with a plain ``parse_mode`` sibling.
_PLAIN_PARSE_MODE_FIELDS = frozenset({"text", "caption", "message_text"})
#: Nesting depth at which a dict is written on one line (root > methods > name > fields > field).
_INLINE_DEPTH = 4


def _field(raw: dict[str, Any], siblings: set[str]) -> dict[str, Any]:
    """Compact spec of one field: types, required, and the limits its description states."""
    name = raw["name"]
    description = raw.get("description", "")
    spec: dict[str, Any] = {"types": list(raw["types"]), "required": bool(raw["required"])}
    if raw["types"] == ["String"]:
        length = _LENGTH.search(description)
        if length:
            spec["length"] = [int(length.group(1)), int(length.group(2)), length.group(3)]
            if f"{name}_parse_mode" in siblings:
                spec["parse_mode"] = f"{name}_parse_mode"
            elif name in _PLAIN_PARSE_MODE_FIELDS and "parse_mode" in siblings:
                spec["parse_mode"] = "parse_mode"
        if raw["required"]:
            const = _CONST.search(description)
            if const:
                spec["const"] = const.group(1)
    return spec


def _fields(raw_fields: list[dict[str, Any]]) -> dict[str, Any]:
    siblings = {f["name"] for f in raw_fields}
    return {f["name"]: _field(f, siblings) for f in raw_fields}


def build_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """The compact schema for ``spec`` (the parsed ``api.json``)."""
    methods = {
        name: {
            "returns": list(method.get("returns", [])),
            "fields": _fields(method.get("fields", [])),
        }
        for name, method in spec["methods"].items()
    }
    types: dict[str, Any] = {}
    for name, type_ in spec["types"].items():
        entry: dict[str, Any] = {}
        if "subtypes" in type_:
            entry["subtypes"] = list(type_["subtypes"])
        else:
            entry["fields"] = _fields(type_.get("fields", []))
        types[name] = entry
    return {
        "version": spec["version"],
        "release_date": spec["release_date"],
        "methods": methods,
        "types": types,
    }


def _dump(value: Any, depth: int) -> str:
    if isinstance(value, dict) and depth < _INLINE_DEPTH and value:
        pad = " " * (depth + 1)
        items = [f"{pad}{json.dumps(key)}: {_dump(value[key], depth + 1)}" for key in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def render(schema: dict[str, Any]) -> str:
    """The file text for ``schema``: sorted keys, one field spec per line, final newline."""
    return _dump(schema, 0) + "\n"


def generate(spec_path: Path = SPEC_PATH) -> str:
    """The schema file text generated from the specification at ``spec_path``."""
    with spec_path.open(encoding="utf-8") as handle:
        spec = json.load(handle)
    return render(build_schema(spec))


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the schema file; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--spec", type=Path, default=SPEC_PATH, help="path to api.json")
    parser.add_argument("--output", type=Path, default=OUTPUT_PATH, help="schema file to write")
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = generate(args.spec)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; run tools/gen_bot_api_schema.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
