"""``media/upload``: the multipart body read exactly, and api.json's limits on it.

The body is ``multipart/form-data`` with one part named ``media``
(``Content-Disposition: form-data; name="media"; filename="..."; filelength=N``
and the part's own Content-Type). The bytes are kept as they came: a PNG's
``\\r\\n`` must survive, so the parts are cut at the boundary, not parsed as
text.

Limits (api.json ``uploadMedia``; which code WeCom gives in which case is
unverified, these are api.json's stand-in defaults): more than 5 bytes, else
44001; an image is PNG or JPEG (else 40004) of at most 10 MiB (else 40009); a
file at most 20 MiB (else 40006); a voice AMR of at most 2 MiB and a video
MP4 of at most 10 MiB (else 40004 for the format, 45001 for the size).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Part", "parse_multipart", "upload_problem"]

MIB = 1024 * 1024
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^;\s]*))')


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    filelength: str | None
    content_type: str
    data: bytes


def _params(header: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(header)}


def parse_multipart(content_type: str, raw: bytes) -> list[Part] | None:
    """The parts of ``raw``, or None if it is not a multipart body with a boundary."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    boundary = _params(content_type).get("boundary")
    if not boundary:
        return None
    delimiter = b"--" + boundary.encode()
    chunks = raw.split(delimiter)
    if len(chunks) < 3:
        return None
    parts: list[Part] = []
    # chunks[0] is the preamble; the last starts with "--" (the closing delimiter).
    for chunk in chunks[1:-1]:
        head, separator, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            return None
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _params(headers.get("content-disposition", ""))
        parts.append(
            Part(
                name=disposition.get("name", ""),
                filename=disposition.get("filename"),
                filelength=disposition.get("filelength"),
                content_type=headers.get("content-type", "application/octet-stream"),
                data=data.removesuffix(b"\r\n"),
            )
        )
    return parts


def _format_ok(kind: str, data: bytes) -> bool:
    if kind == "image":
        return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))
    if kind == "voice":
        return data.startswith(b"#!AMR")
    if kind == "video":
        return data[4:8] == b"ftyp"
    return True


#: Type -> (largest size, its code).
_SIZES = {
    "image": (10 * MIB, 40009),
    "file": (20 * MIB, 40006),
    "voice": (2 * MIB, 45001),
    "video": (10 * MIB, 45001),
}


def upload_problem(kind: str, data: bytes) -> int | None:
    """The code WeCom refuses ``data`` uploaded as ``kind`` with (None: accepted)."""
    if len(data) <= 5:
        return 44001
    if not _format_ok(kind, data):
        return 40004
    largest, code = _SIZES[kind]
    return code if len(data) > largest else None
