"""Telegram HTML parse_mode: what is accepted, what is refused, visible length and entities."""

from __future__ import annotations

import html as std_html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local_servers.telegram.html import HtmlParseError, parse_html, plain_text, utf16_len


@pytest.mark.parametrize(
    ("source", "visible"),
    [
        ("plain text", "plain text"),
        ("<b>bold</b> <strong>strong</strong>", "bold strong"),
        ("<i>i</i><em>em</em><u>u</u><ins>ins</ins>", "iemuins"),
        ("<s>s</s><strike>st</strike><del>d</del>", "sstd"),
        ('<span class="tg-spoiler">secret</span>', "secret"),
        ("<tg-spoiler>secret</tg-spoiler>", "secret"),
        ('<a href="https://example.org/?a=1&amp;b=2">link</a>', "link"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("<code>x = 1</code>", "x = 1"),
        ("<pre>block</pre>", "block"),
        ('<pre><code class="language-python">print(1)</code></pre>', "print(1)"),
        ("<blockquote>quote</blockquote>", "quote"),
        ("<blockquote expandable>long quote</blockquote>", "long quote"),
        ("<B>upper-case tag names</B>", "upper-case tag names"),
        ("<b>nested <i>italic</i> bold</b>", "nested italic bold"),
        ("closed by <b>empty end tag</>", "closed by empty end tag"),
        ("&lt;tag&gt; &amp; &quot;quoted&quot;", '<tag> & "quoted"'),
        ("&#65;&#x42;&#X43;", "ABC"),
        ("&#128512;", "😀"),
        ("a > b is fine unescaped", "a > b is fine unescaped"),
        ("<a href=example.org>bare value</a>", "bare value"),
        ("<b >spaces in tags</b >", "spaces in tags"),
        ("protein ≥ 0.5 g/24h, 尿蛋白", "protein ≥ 0.5 g/24h, 尿蛋白"),
    ],
)
def test_accepted_html_gives_visible_text(source: str, visible: str) -> None:
    assert parse_html(source).text == visible


@pytest.mark.parametrize(
    ("source", "message_part"),
    [
        ("1 < 2", "Unsupported start tag"),
        ("a <", "Unclosed start tag"),
        ("<br>", 'Unsupported start tag "br"'),
        ("<p>paragraph</p>", 'Unsupported start tag "p"'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ("<b>x</b", "Unclosed end tag"),
        ("&nbsp;", "Unsupported HTML entity"),
        ("fish & chips", "Unsupported HTML entity"),
        ("&copy; 2026", "Unsupported HTML entity"),
        ("&#;", "Unsupported HTML entity"),
        ("&#xD800;", "Unsupported HTML entity"),
        ("<span>not a spoiler</span>", 'Tag "span" must have class "tg-spoiler"'),
        ('<span class="bold">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<tg-emoji>👍</tg-emoji>", "Invalid custom emoji identifier"),
        ('<a href="x>unterminated', "Unclosed start tag"),
        ("<a href>x</a>", "Expected equal sign"),
        ("<a href=https://e.org>x</a>", "Unexpected end of name token"),
        ('<a href="https://e.org?a=1&b=2">x</a>', "Unsupported HTML entity"),
    ],
)
def test_refused_html(source: str, message_part: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(source)
    assert message_part in caught.value.message
    assert caught.value.description.startswith("Bad Request: can't parse entities: ")


def test_error_reports_the_byte_offset_like_telegram() -> None:
    # "尿" is 3 bytes in UTF-8, so the bad "<" starts at byte 4, character 2.
    with pytest.raises(HtmlParseError) as caught:
        parse_html("尿 <x>")
    assert "at byte offset 4" in caught.value.message


@pytest.mark.parametrize(
    ("source", "entities"),
    [
        ("<b>bold</b>", [{"type": "bold", "offset": 0, "length": 4}]),
        ("😀<i>x</i>", [{"type": "italic", "offset": 2, "length": 1}]),
        (
            '<a href="https://e.org">go</a>',
            [{"type": "text_link", "offset": 0, "length": 2, "url": "https://e.org"}],
        ),
        (
            '<pre><code class="language-python">x</code></pre>',
            [{"type": "pre", "offset": 0, "length": 1, "language": "python"}],
        ),
        ("<code>c</code>", [{"type": "code", "offset": 0, "length": 1}]),
        (
            "<blockquote expandable>q</blockquote>",
            [{"type": "expandable_blockquote", "offset": 0, "length": 1}],
        ),
        ("<b></b>empty entity dropped", []),
        (
            "<b>a<i>b</i></b>",
            [
                {"type": "bold", "offset": 0, "length": 2},
                {"type": "italic", "offset": 1, "length": 1},
            ],
        ),
    ],
)
def test_entities_in_utf16_units(source: str, entities: list[dict[str, object]]) -> None:
    assert [e.to_dict() for e in parse_html(source).entities] == entities


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("尿蛋白", 3), ("😀", 2), ("a😀b", 4), ("👍🏽", 4)],
)
def test_utf16_length(text: str, units: int) -> None:
    assert utf16_len(text) == units


@pytest.mark.parametrize(
    ("text", "parse_mode", "visible", "length"),
    [
        ("  hello \n", None, "hello", 5),
        (" <b> x </b> ", "HTML", "x", 1),
        ("<b></b>", "HTML", "", 0),
        ("*not parsed*", "MarkdownV2", "*not parsed*", 12),
        ("<b>raw</b>", None, "<b>raw</b>", 10),
        ("<b>x</b>", "html", "x", 1),
    ],
)
def test_plain_text_trims_and_counts_after_parsing(
    text: str, parse_mode: str | None, visible: str, length: int
) -> None:
    parsed = plain_text(text, parse_mode)
    assert (parsed.text, parsed.length) == (visible, length)


def test_trimming_shifts_entities() -> None:
    parsed = plain_text("\n\n<b>bold</b> tail", "HTML")
    assert parsed.text == "bold tail"
    assert [e.to_dict() for e in parsed.entities] == [{"type": "bold", "offset": 0, "length": 4}]


@given(st.text())
def test_escaped_text_round_trips(text: str) -> None:
    # Whatever the bot escapes with html.escape parses back to exactly that text.
    assert parse_html(std_html.escape(text, quote=True)).text == text


@given(st.text(alphabet=st.characters(blacklist_characters="<&"), max_size=50))
def test_text_without_markup_characters_is_unchanged(text: str) -> None:
    assert parse_html(text).text == text
