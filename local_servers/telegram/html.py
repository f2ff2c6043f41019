"""Telegram's ``parse_mode=HTML``: validation, visible text and the entities it yields.

This follows the Bot API "HTML style" formatting rules and the parser Telegram
runs (tdlib ``parse_html``): the supported tags are ``b strong i em u ins s
strike del span(class="tg-spoiler") tg-spoiler a(href) tg-emoji(emoji-id) code
pre blockquote(expandable) tg-time``; tag names are case-insensitive; ``</>``
closes the innermost tag; attribute values may be quoted or bare name tokens.
Errors carry tdlib's wording ("Unsupported start tag \\"x\\" at byte offset N").

One deliberate difference: tdlib shows an unrecognised ``&name;`` or a bare
``&`` literally, while the Bot API documentation says every ``&`` that is not
part of an entity must be escaped. The local server rejects both, because a
bot that sends ``&nbsp;`` shows the user "&nbsp;" (a bug worth catching).

Lengths are counted in UTF-16 code units, as Telegram counts them
(MessageEntity: "Offset in UTF-16 code units").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Entity",
    "HtmlParseError",
    "ParsedText",
    "parse_html",
    "plain_text",
    "strip_text",
    "utf16_len",
]

#: Tag name -> MessageEntity type (``span`` and ``a`` are special-cased below).
_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_SUPPORTED_TAGS = frozenset({*_SIMPLE_TAGS, "a", "span", "tg-emoji", "tg-time"})
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
#: tdlib's is_space: the characters that separate a tag name from its attributes.
_SPACES = frozenset(" \t\r\n\v\f")
#: Leading and trailing characters Telegram trims from a message after entity parsing.
_TRIMMED = " \t\r\n\v\f"


class HtmlParseError(ValueError):
    """Text Telegram refuses with "Bad Request: can't parse entities: <message>"."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def description(self) -> str:
        """The Bot API error description for this failure."""
        return f"Bad Request: can't parse entities: {self.message}"


@dataclass(frozen=True, slots=True)
class Entity:
    """One MessageEntity (offset and length in UTF-16 code units)."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None
    unix_time: int | None = None
    date_time_format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Bot API JSON form (absent optional fields omitted)."""
        result: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        for key in ("url", "language", "custom_emoji_id", "unix_time", "date_time_format"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        return result


@dataclass(frozen=True, slots=True)
class ParsedText:
    """Visible text after entity parsing, and the entities found."""

    text: str
    entities: tuple[Entity, ...] = ()

    @property
    def length(self) -> int:
        """Visible length in UTF-16 code units (what Telegram's limits count)."""
        return utf16_len(self.text)


@dataclass(slots=True)
class _Open:
    tag: str
    offset: int
    byte_offset: int
    attrs: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (astral characters count twice)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, pos: int) -> tuple[str, int] | None:
    """The character an ``&...`` reference at ``pos`` stands for and the index after it.

    Like tdlib, the closing ``;`` may be left out; unlike tdlib an unknown name
    is not kept as literal text (the caller refuses it).
    """
    end = pos + 1
    if source.startswith("#", end):
        end += 1
        if source[end : end + 1] in ("x", "X"):
            end += 1
            start = end
            while end < len(source) and source[end] in "0123456789abcdefABCDEF":
                end += 1
            digits, base = source[start:end], 16
        else:
            start = end
            while end < len(source) and source[end].isascii() and source[end].isdigit():
                end += 1
            digits, base = source[start:end], 10
        if not digits or len(digits) > 8:
            return None
        code = int(digits, base)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        start = end
        while end < len(source) and source[end].isascii() and source[end].isalpha():
            end += 1
        name = source[start:end]
        if name not in _NAMED_ENTITIES:
            return None
        char = _NAMED_ENTITIES[name]
    if source.startswith(";", end):
        end += 1
    return char, end


def _parse_attributes(source: str, pos: int, tag: str, begin: int) -> tuple[_Open, int]:
    """Attributes of start tag ``tag`` from ``pos``; returns the open tag and index past ``>``."""
    opened = _Open(tag=tag, offset=0, byte_offset=_byte_offset(source, begin))
    n = len(source)
    while True:
        while pos < n and source[pos] in _SPACES:
            pos += 1
        if pos >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {opened.byte_offset}")
        if source[pos] == ">":
            return opened, pos + 1
        name_start = pos
        while pos < n and source[pos] not in _SPACES and source[pos] not in "=>":
            pos += 1
        name = source[name_start:pos].lower()
        if not name:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {opened.byte_offset}'
            )
        while pos < n and source[pos] in _SPACES:
            pos += 1
        if pos >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {opened.byte_offset}")
        if source[pos] != "=":
            if tag == "blockquote" and name == "expandable":
                opened.flags.add(name)
                continue
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {opened.byte_offset}'
            )
        pos += 1
        while pos < n and source[pos] in _SPACES:
            pos += 1
        if pos >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {opened.byte_offset}")
        if source[pos] in "'\"":
            quote = source[pos]
            pos += 1
            value: list[str] = []
            while pos < n and source[pos] != quote:
                if source[pos] == "&":
                    decoded = _decode_entity(source, pos)
                    if decoded is None:
                        raise HtmlParseError(
                            f"Unsupported HTML entity at byte offset {_byte_offset(source, pos)}"
                        )
                    value.append(decoded[0])
                    pos = decoded[1]
                    continue
                value.append(source[pos])
                pos += 1
            if pos >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {opened.byte_offset}")
            pos += 1
            attr_value = "".join(value)
        else:
            token_start = pos
            while pos < n and (source[pos].isalnum() or source[pos] in ".-"):
                pos += 1
            attr_value = source[token_start:pos].lower()
            if pos >= n or (source[pos] not in _SPACES and source[pos] != ">"):
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(source, pos)}"
                )
        opened.attrs[name] = attr_value


def _close_entity(opened: _Open, end: int, parent: _Open | None) -> Entity | None:
    """The entity a closed tag yields (None for an empty range or a code block's language)."""
    length = end - opened.offset
    tag = opened.tag
    if tag == "tg-emoji":
        emoji_id = opened.attrs.get("emoji-id", "")
        if not emoji_id.isdigit() or int(emoji_id) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
    if tag == "tg-time":
        unix = opened.attrs.get("unix", "")
        if not unix.isdigit():
            raise HtmlParseError("Invalid Unix time specified")
    if length <= 0:
        return None
    if tag == "a":
        return Entity("text_link", opened.offset, length, url=opened.attrs.get("href", ""))
    if tag == "span":
        return Entity("spoiler", opened.offset, length)
    if tag == "tg-emoji":
        return Entity(
            "custom_emoji", opened.offset, length, custom_emoji_id=opened.attrs["emoji-id"]
        )
    if tag == "tg-time":
        return Entity(
            "date_time",
            opened.offset,
            length,
            unix_time=int(opened.attrs["unix"]),
            date_time_format=opened.attrs.get("format"),
        )
    if tag == "blockquote" and "expandable" in opened.flags:
        return Entity("expandable_blockquote", opened.offset, length)
    if tag == "code":
        language = opened.attrs.get("class", "")
        if (
            language.startswith("language-")
            and parent is not None
            and parent.tag == "pre"
            and parent.offset == opened.offset
        ):
            parent.attrs["language"] = language.removeprefix("language-")
            return None
        return Entity("code", opened.offset, length)
    if tag == "pre":
        return Entity("pre", opened.offset, length, language=opened.attrs.get("language"))
    return Entity(_SIMPLE_TAGS[tag], opened.offset, length)


def parse_html(source: str) -> ParsedText:
    """Parse ``source`` as Telegram parses ``parse_mode=HTML``.

    Rule (Bot API "HTML style"): only the listed tags, properly nested and
    closed; ``<``, ``&`` must be escaped as ``&lt;`` ``&amp;`` unless they start
    a tag or one of ``&lt; &gt; &amp; &quot;`` or a numeric reference. Raises
    :class:`HtmlParseError` otherwise. The result is not trimmed (see
    :func:`strip_text`).
    """
    out: list[str] = []
    units = 0
    stack: list[_Open] = []
    entities: list[Entity] = []
    n = len(source)
    i = 0
    while i < n:
        ch = source[i]
        if ch == "&":
            decoded = _decode_entity(source, i)
            if decoded is None:
                raise HtmlParseError(
                    f"Unsupported HTML entity at byte offset {_byte_offset(source, i)}; "
                    'write "&" as "&amp;"'
                )
            out.append(decoded[0])
            units += utf16_len(decoded[0])
            i = decoded[1]
            continue
        if ch != "<":
            out.append(ch)
            units += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        if source.startswith("/", i + 1):
            if not stack:
                raise HtmlParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(source, begin)}"
                )
            j = i + 2
            while j < n and source[j] not in _SPACES and source[j] != ">":
                j += 1
            end_name = source[i + 2 : j].lower()
            while j < n and source[j] in _SPACES:
                j += 1
            if j >= n or source[j] != ">":
                raise HtmlParseError(
                    f"Unclosed end tag at byte offset {_byte_offset(source, begin)}"
                )
            opened = stack.pop()
            if end_name and end_name != opened.tag:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
                    f'expected "</{opened.tag}>", found "</{end_name}>"'
                )
            entity = _close_entity(opened, units, stack[-1] if stack else None)
            if entity is not None:
                entities.append(entity)
            i = j + 1
            continue
        j = i + 1
        while j < n and source[j] not in _SPACES and source[j] != ">":
            j += 1
        if j >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
        tag = source[i + 1 : j].lower()
        if tag not in _SUPPORTED_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        opened, i = _parse_attributes(source, j, tag, begin)
        opened.offset = units
        if tag == "span" and opened.attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {opened.byte_offset}'
            )
        stack.append(opened)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e.offset, -e.length))
    return ParsedText("".join(out), tuple(entities))


def strip_text(parsed: ParsedText) -> ParsedText:
    """``parsed`` with leading and trailing whitespace removed, entities clipped to match.

    Telegram trims a message's text after entity parsing, so " " is an empty
    message and trailing newlines do not count towards the limit.
    """
    text = parsed.text
    stripped_left = text.lstrip(_TRIMMED)
    shift = utf16_len(text) - utf16_len(stripped_left)
    stripped = stripped_left.rstrip(_TRIMMED)
    total = utf16_len(stripped)
    entities: list[Entity] = []
    for entity in parsed.entities:
        start = max(entity.offset - shift, 0)
        end = min(entity.offset + entity.length - shift, total)
        if end > start:
            entities.append(
                Entity(
                    entity.type,
                    start,
                    end - start,
                    url=entity.url,
                    language=entity.language,
                    custom_emoji_id=entity.custom_emoji_id,
                    unix_time=entity.unix_time,
                    date_time_format=entity.date_time_format,
                )
            )
    return ParsedText(stripped, tuple(entities))


def plain_text(text: str, parse_mode: str | None) -> ParsedText:
    """The visible text of ``text`` sent with ``parse_mode``, trimmed as Telegram trims it.

    HTML is parsed fully (raising :class:`HtmlParseError`); Markdown and
    MarkdownV2 are not parsed (the raw text is returned, so their limits are
    counted on the raw length, an over-estimate).
    """
    if parse_mode is not None and parse_mode.lower() == "html":
        return strip_text(parse_html(text))
    return strip_text(ParsedText(text))
